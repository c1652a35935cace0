# The developer's script of `cargo xtask devsys` (xtask/src/devsys.rs):
# run by the Debian system's /init as /usr/local/lib/autorun.sh, on our
# kernel and on Debian's Linux; only deterministic output (no times, pids,
# inode numbers), so that the two consoles can be compared line by line.
# Each step is framed by "=== step NAME" and "=== status NAME N".
export LC_ALL=C.UTF-8 HOME=/root TZ=UTC SOURCE_DATE_EPOCH=1700000000
export GIT_AUTHOR_NAME=Dev GIT_AUTHOR_EMAIL=dev@example.org GIT_COMMITTER_NAME=Dev
export GIT_COMMITTER_EMAIL=dev@example.org GIT_AUTHOR_DATE='1700000000 +0000'
export GIT_COMMITTER_DATE='1700000000 +0000' GIT_CONFIG_NOSYSTEM=1
W=/tmp/dev
mkdir -p $W && cd $W || exit 1
step() {
    local name=$1; shift
    echo "=== step $name"
    ( cd $W && "$@" ) 2>&1
    echo "=== status $name $?"
}

cc_basic() {
    cat > hello.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int main(int argc, char **argv) {
    char buf[64];
    snprintf(buf, sizeof buf, "fib(25)=%lu", fib(25));
    double x = 0;
    for (int i = 1; i <= 1000; i++) x += 1.0 / ((double)i * i);
    printf("%s argc=%d sum=%.9f len=%zu\n", buf, argc, x, strlen(argv[0]));
    return 3;
}
C
    gcc -O2 -Wall -o hello hello.c && ./hello a b; echo "exit $?"
    gcc -O0 -g -o hello0 hello.c && ./hello0; echo "exit $?"
    gcc -S -O2 -o hello.s hello.c && grep -c fib hello.s
    gcc -c -O2 hello.c -o hello.o && nm hello.o | awk '{print $NF}' | sort
    gcc -static -O2 -o hello-static hello.c && ./hello-static; echo "static exit $?"
    file hello hello.o hello-static hello.c | sed 's/BuildID\[sha1\]=[0-9a-f]*/BuildID/'
    readelf -h hello | grep -E 'Class|Type|Machine'
    size hello.o | tail -1 | awk '{print $1, $2, $3}'
    strip -o hello-stripped hello && ./hello-stripped; echo "stripped exit $?"
    objdump -d hello.o | grep -c '^0000'
}

cc_pthread() {
    cat > thr.c <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
static atomic_long total;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static void *work(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < 100000; i++) {
        atomic_fetch_add(&total, 1);
        pthread_mutex_lock(&m);
        counter += id;
        pthread_mutex_unlock(&m);
    }
    return (void *)(id * 10);
}
int main(void) {
    pthread_t t[8];
    for (long i = 0; i < 8; i++) pthread_create(&t[i], 0, work, (void *)i);
    long sum = 0;
    for (int i = 0; i < 8; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("total=%ld counter=%ld joined=%ld\n", (long)total, counter, sum);
    return 0;
}
C
    gcc -O2 -pthread -o thr thr.c && ./thr
}

cc_dlopen() {
    cat > plug.c <<'C'
#include <stdio.h>
int plug_value = 41;
__attribute__((constructor)) static void hello(void) { puts("plug: constructor"); }
int plug_add(int a, int b) { return a + b + plug_value; }
C
    cat > main.c <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
    void *h = dlopen("./libplug.so", RTLD_NOW);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    int (*add)(int, int) = (int (*)(int, int))dlsym(h, "plug_add");
    int *v = dlsym(h, "plug_value");
    printf("add=%d value=%d missing=%s\n", add(1, 2), *v, dlsym(h, "nope") ? "found" : "null");
    printf("dlclose=%d\n", dlclose(h));
    void *bad = dlopen("./nonexistent.so", RTLD_NOW);
    printf("bad=%s\n", bad ? "loaded" : "null");
    return 0;
}
C
    gcc -O2 -fPIC -shared -o libplug.so plug.c && gcc -O2 -o dl main.c -ldl && ./dl
    gcc -O2 -o dl2 main.c -L. -Wl,-rpath,'$ORIGIN' && ldd dl2 | awk '{print $1}' | sort
}

cc_sanitizers() {
    cat > asan.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    char *p = malloc(16);
    strcpy(p, "fifteen chars..");
    printf("before %s\n", p);
    if (argc > 1) p[16 + atoi(argv[1])] = 'x';
    free(p);
    if (argc > 2) (void)malloc(1000);
    return 0;
}
C
    gcc -g -O1 -fsanitize=address -fno-omit-frame-pointer -o asan asan.c || return 1
    ./asan; echo "clean $?"
    ./asan 0 2> asan.err; echo "overflow $?"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|WRITE)' asan.err | sed 's/==[0-9]*==/==P==/; s/0x[0-9a-f]*/0xX/g; s/ thread T0//'
    cat > leak.c <<'C'
#include <stdlib.h>
#include <stdio.h>
void *keep;
int main(void) { keep = malloc(10); keep = 0; malloc(7); puts("leaking"); return 0; }
C
    gcc -g -O0 -fsanitize=address -o leak leak.c && ./leak 2> leak.err; echo "leak $?"
    grep -E '^(SUMMARY|Direct leak)' leak.err | sed 's/0x[0-9a-f]*/0xX/g'
    cat > ub.c <<'C'
#include <stdio.h>
#include <limits.h>
int main(int argc, char **argv) { int x = INT_MAX - 1 + argc; x += argc; int s = argc << 40; printf("%d %d\n", x, s != 0); return 0; }
C
    gcc -O0 -fsanitize=undefined -o ub ub.c 2>/dev/null && ./ub 2>&1 | sed 's/^ub.c/UB/'; echo "ub $?"
    cat > tsan.c <<'C'
#include <pthread.h>
#include <stdio.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int v;
static void *f(void *a) { pthread_mutex_lock(&m); v += (int)(long)a; pthread_mutex_unlock(&m); return 0; }
int main(void) { pthread_t t[4]; for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, f, (void *)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], 0); printf("tsan v=%d\n", v); return 0; }
C
    gcc -O1 -g -fsanitize=thread -o tsan tsan.c && ./tsan 2>&1 | head -5; echo "tsan $?"
}

cc_lto_gcov() {
    cat > a.c <<'C'
int helper(int x);
int main(void) { int s = 0; for (int i = 0; i < 10; i++) s += helper(i); return s == 90 ? 0 : 1; }
C
    cat > b.c <<'C'
int helper(int x) { return x * 2; }
C
    gcc -O2 -flto=auto -o lto a.c b.c && ./lto; echo "lto $?"
    nm lto | grep -c ' helper$'
    gcc -O0 --coverage -c a.c b.c && gcc --coverage -o cov a.o b.o && ./cov && gcov -n a.c b.c | grep -E '^(File|Lines)'
    ls *.gcda | sort
    gcc -O2 -fopenmp -o omp -x c - <<'C' && OMP_NUM_THREADS=3 ./omp
#include <omp.h>
#include <stdio.h>
int main(void) { long s = 0;
#pragma omp parallel for reduction(+:s)
  for (int i = 0; i < 100000; i++) s += i;
  printf("omp %ld threads %d\n", s, omp_get_max_threads()); return 0; }
C
    echo "omp $?"
}

make_project() {
    mkdir -p proj/src && cd proj
    for i in $(seq 1 12); do
        printf '#include "common.h"\nint f%d(int x) { return x * %d + g_base; }\n' $i $i > src/f$i.c
        echo "int f$i(int x);" >> src/decl.h
    done
    printf 'extern int g_base;\n#include "decl.h"\n' > src/common.h
    {
        echo '#include <stdio.h>'
        echo '#include "common.h"'
        echo 'int g_base = 7;'
        echo 'int main(void) { long s = 0;'
        for i in $(seq 1 12); do echo "  s += f$i($i);"; done
        echo '  printf("sum %ld\n", s); return 0; }'
    } > src/main.c
    cat > Makefile <<'M'
SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,build/%.o,$(SRCS))
CFLAGS := -O2 -Wall -MMD
prog: $(OBJS) build/libf.a
	$(CC) -o $@ build/main.o build/libf.a
build/libf.a: $(filter-out build/main.o,$(OBJS))
	$(AR) rcs $@ $^
build/%.o: src/%.c | build
	$(CC) $(CFLAGS) -c -o $@ $<
build:
	mkdir -p build
clean:
	rm -rf build prog
-include $(OBJS:.o=.d)
.PHONY: clean
M
    make -s -j2 && ./prog && ls build | wc -l
    make -s -j2; echo "again $?"; make -q; echo "uptodate $?"
    sleep 1; touch src/common.h && make -j2 | grep -c 'cc -O2'
    make -s clean && ls; make -s && ./prog
    make -n clean
}

git_repo() {
    mkdir repo && cd repo && git init -q -b main . || return 1
    for d in $(seq 1 20); do
        mkdir -p dir$d
        for f in $(seq 1 15); do printf 'file %d %d\nline two\n' $d $f > dir$d/f$f.txt; done
    done
    git add . && git commit -q -m 'first: 300 files' && git log --oneline | cat
    git ls-files | wc -l
    git rev-parse HEAD^{tree}
    git checkout -q -b topic
    echo change >> dir3/f3.txt; git rm -q dir4/f1.txt; echo new > new.txt
    git status --short | cat
    git add -A && git commit -q -m 'topic work' && git diff --stat main topic | cat
    git checkout -q main && echo other >> dir5/f5.txt && git commit -q -am 'main work'
    git merge -q --no-edit topic && git log --oneline --graph | cat
    git diff HEAD~1 --name-status | cat
    git branch -a | cat
    git show --stat HEAD~1 | cat
    git gc -q && git count-objects -v | grep -E '^(count|in-pack|packs)'
    git fsck --full 2>&1 | head -5
    git status --porcelain | wc -l
    git archive --format=tar HEAD | tar tf - | wc -l
    git stash list | wc -l
    git clone -q . ../clone && git -C ../clone log --oneline | cat
}

tar_round() {
    mkdir -p data/sub
    seq 1 20000 > data/numbers; head -c 300000 /usr/bin/bash > data/sub/bin
    ln -s numbers data/link; ln data/numbers data/hard; chmod 600 data/sub/bin
    for z in z J j ''; do
        tar c${z}f a.tar$z data && mkdir -p out$z && tar x${z}f a.tar$z -C out$z || echo "tar $z failed"
        for f in numbers sub/bin hard; do cmp data/$f out$z/data/$f || echo "differs $z $f"; done
        echo "$z: $(tar t${z}f a.tar$z | sort | tr '\n' ' ') link=$(readlink out$z/data/link) mode=$(stat -c %a out$z/data/sub/bin) links=$(stat -c %h out$z/data/hard)"
    done
    cp data/numbers num
    xz -9 -k num && xz -t num.xz && xz -dc num.xz | md5sum
    bzip2 -k num && bzip2 -dc num.bz2 | md5sum
    gzip -9 -k num && gzip -l num.gz | tail -1 | awk '{print $2}'
    ls num*
    xz -T2 -c data/sub/bin | xz -dc | cmp - data/sub/bin && echo "xz -T2 ok"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - data | md5sum
}

dpkg_pkg() {
    mkdir -p pkg/DEBIAN pkg/usr/bin pkg/usr/share/hello-dev
    cat > pkg/DEBIAN/control <<'D'
Package: hello-dev
Version: 1.0-1
Architecture: amd64
Maintainer: Dev <dev@example.org>
Depends: libc6
Description: a test package
 made by the developer script
D
    printf '#!/bin/sh\necho hello from the package\n' > pkg/usr/bin/hello-dev
    chmod 755 pkg/usr/bin/hello-dev; echo data > pkg/usr/share/hello-dev/data
    printf '#!/bin/sh\necho postinst "$1"\n' > pkg/DEBIAN/postinst; chmod 755 pkg/DEBIAN/postinst
    dpkg-deb --root-owner-group -Zxz --build pkg hello-dev.deb | sed 's/ in .*//'
    dpkg-deb -I hello-dev.deb | grep -E 'Package|Version|Depends'
    dpkg-deb -c hello-dev.deb | awk '{print $1, $2, $6}'
    dpkg -i hello-dev.deb && hello-dev
    dpkg -l hello-dev | tail -1 | awk '{print $1, $2, $3}'
    dpkg -L hello-dev
    dpkg -s hello-dev | grep Status
    dpkg -S /usr/bin/hello-dev
    dpkg --audit; echo "audit $?"
    dpkg -V hello-dev coreutils gcc-12; echo "verify $?"
    dpkg -r hello-dev | tail -1; test -e /usr/bin/hello-dev; echo "gone $?"
    dpkg -l | grep -c '^ii'
}

diff_patch() {
    seq 1 50 > a.txt; seq 1 50 | sed 's/^25$/twenty-five/; /^40$/d; $a\end' > b.txt
    diff -u a.txt b.txt > ab.patch; echo "diff $?"
    sed -n '3,$p' ab.patch
    cp a.txt c.txt && patch -s c.txt < ab.patch && cmp c.txt b.txt && echo patched
    patch -s -R c.txt < ab.patch && cmp c.txt a.txt && echo reversed
    mkdir -p t1 t2 && echo x > t1/a && echo y > t2/a && echo z > t2/b
    diff -ruN t1 t2 | grep -v '^[-+][-+][-+]'
    diff -q a.txt b.txt; echo "q $?"
}

python_dev() {
    mkdir -p pyproj/pkg && cd pyproj
    printf 'def sq(x):\n    return x * x\n' > pkg/mod.py; touch pkg/__init__.py
    python3 -m compileall -q pkg && ls pkg/__pycache__ | sed 's/cpython-3[0-9]*/cpython-3X/'
    python3 -c 'import pkg.mod; print(pkg.mod.sq(12))'
    if python3 -c 'import venv, ensurepip' 2>/dev/null; then
        python3 -m venv --without-pip /tmp/dev/venv && /tmp/dev/venv/bin/python -c 'import sys; print(sys.prefix, sys.prefix != sys.base_prefix)'
    else
        echo "no venv"
    fi
    python3 - <<'P'
import subprocess, sysconfig, hashlib
out = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
print(out.split()[0], sysconfig.get_config_var("SOABI"))
print(hashlib.sha256(open("/tmp/dev/a.txt", "rb").read()).hexdigest()[:16])
P
}

pkgconfig() {
    pkg-config --version | cut -d. -f1
    pkg-config --cflags --libs zlib 2>&1 || echo "no zlib.pc"
    gcc -dumpversion; gcc -dumpmachine; as --version | head -1; ld --version | head -1
    echo 'int main(void){return 0;}' | gcc -x c -o /tmp/dev/empty - && /tmp/dev/empty; echo "stdin exit $?"
    echo '#include <zlib.h>' | gcc -E -x c - >/dev/null 2>&1; echo "zlib.h $?"
}

step cc_basic cc_basic
step cc_sanitizers cc_sanitizers
step cc_lto_gcov cc_lto_gcov
step cc_pthread cc_pthread
step cc_dlopen cc_dlopen
step make_project make_project
step git_repo git_repo
step tar_round tar_round
step dpkg_pkg dpkg_pkg
step diff_patch diff_patch
step python_dev python_dev
step pkgconfig pkgconfig
echo "=== devsys done"
# the tty drains to the serial port before /init powers off (Linux lost
# the last lines without it)
sleep 2
