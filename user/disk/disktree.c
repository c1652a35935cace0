/* disktree: the guest side of xtask's disk checks (xtask/src/disktest.rs),
 * run as init with the disk as the root (root=/dev/vda).
 *
 *   disktree write      writes a tree under /t (10,000 small files, MiB
 *                       files, 200 MiB in all, a sparse file,
 *                       fast/slow/dangling symlinks, hard links, a 32-deep
 *                       directory) and the 5 GiB sparse /huge,
 *                       lists /t, syncs and exits (the kernel powers off)
 *   disktree hash DIR   lists DIR (the host made the image from a tree)
 *   disktree crash      writes /crash.bin, fsyncs it and its directory,
 *                       says so, then keeps the disk busy until killed
 *
 * A listing is one line per entry below DIR, names in strcmp order, each
 * line starting with "@ ":
 *   d PATH MODE | f PATH MODE SIZE NLINK SHA256 | l PATH TARGET
 * The SHA-256 is computed here (no library). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- SHA-256 (FIPS 180-4) ---- */
typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
} sha256;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(sha256 *s, const uint8_t *p) {
    uint32_t w[64], a, b, c, d, e, f, g, h;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
    s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(sha256 *s) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->len = 0;
    s->n = 0;
}

static void sha_update(sha256 *s, const uint8_t *p, size_t len) {
    s->len += len;
    while (len > 0) {
        if (s->n == 0 && len >= 64) {
            sha_block(s, p);
            p += 64, len -= 64;
            continue;
        }
        size_t take = 64 - s->n < len ? 64 - s->n : len;
        memcpy(s->buf + s->n, p, take);
        s->n += take, p += take, len -= take;
        if (s->n == 64) {
            sha_block(s, s->buf);
            s->n = 0;
        }
    }
}

static void sha_hex(sha256 *s, char out[65]) {
    uint64_t bits = s->len * 8;
    uint8_t pad = 0x80, zero = 0, lenb[8];
    sha_update(s, &pad, 1);
    while (s->n != 56) sha_update(s, &zero, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_update(s, lenb, 8);
    for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08x", s->h[i]);
}

/* ---- helpers ---- */
static void die(const char *what) {
    printf("disktree: FAILED %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(1);
}

/* The byte at offset i of a file made with seed `seed` (xtask's
 * disktest::pattern computes the same). */
static uint8_t pattern(uint64_t i, unsigned seed) {
    return (uint8_t)((i * 31 + seed * 7 + (i >> 12)) % 251);
}

static uint8_t iobuf[1 << 16];

/* Writes `len` bytes of pattern(seed) at `off` of the open file. */
static void put(int fd, uint64_t off, uint64_t len, unsigned seed, const char *name) {
    while (len > 0) {
        size_t n = len < sizeof iobuf ? (size_t)len : sizeof iobuf;
        /* pattern() stepwise: +31 mod 251 per byte, anew at each 4 KiB */
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
            if (i == 0 || ((off + i) & 4095) == 0) {
                v = pattern(off + i, seed);
            } else {
                v += 31;
                if (v >= 251) v -= 251;
            }
            iobuf[i] = (uint8_t)v;
        }
        ssize_t w = pwrite(fd, iobuf, n, (off_t)off);
        if (w != (ssize_t)n) die(name);
        off += n, len -= n;
    }
}

static void make_file(const char *path, uint64_t len, unsigned seed) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) die(path);
    put(fd, 0, len, seed, path);
    if (close(fd)) die(path);
}

static int hash_fd(int fd, char out[65]) {
    sha256 s;
    sha_init(&s);
    for (;;) {
        ssize_t n = read(fd, iobuf, sizeof iobuf);
        if (n < 0) return -1;
        if (n == 0) break;
        sha_update(&s, iobuf, (size_t)n);
    }
    sha_hex(&s, out);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Prints the listing of dir/rel (rel "" for the top). */
static void list(const char *top, const char *rel) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", top, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) die(path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (!*rel && !strcmp(e->d_name, "lost+found")))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) die("realloc");
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (size_t i = 0; i < n; i++) {
        char r[4096], full[8200];
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        snprintf(full, sizeof full, "%s/%s", top, r);
        struct stat st;
        if (lstat(full, &st)) die(full);
        if (S_ISDIR(st.st_mode)) {
            printf("@ d %s %o\n", r, st.st_mode & 07777);
            list(top, r);
        } else if (S_ISLNK(st.st_mode)) {
            char t[4096];
            ssize_t m = readlink(full, t, sizeof t - 1);
            if (m < 0) die(full);
            t[m] = 0;
            printf("@ l %s %s\n", r, t);
        } else if (S_ISREG(st.st_mode)) {
            char h[65];
            int fd = open(full, O_RDONLY);
            if (fd < 0 || hash_fd(fd, h)) die(full);
            close(fd);
            printf("@ f %s %o %lld %lu %s\n", r, st.st_mode & 07777, (long long)st.st_size,
                   (unsigned long)st.st_nlink, h);
        } else {
            printf("@ o %s %o\n", r, st.st_mode & 07777);
        }
        free(names[i]);
    }
    free(names);
}

/* The chunks of /huge: 64 KiB of pattern(9) at each offset. */
static const uint64_t HUGE_CHUNKS[] = {0, 3ULL << 30, (4ULL << 30) + 8192, (5ULL << 30) - 65536};

static void write_tree(void) {
    char p[4096];
    if (mkdir("/t", 0755) || mkdir("/t/small", 0755) || mkdir("/t/mid", 0750)) die("mkdir");
    for (int i = 0; i < 400; i++) {
        snprintf(p, sizeof p, "/t/small/f%03d", i);
        make_file(p, (uint64_t)(i * 37) % 5000, (unsigned)i);
    }
    /* 1 KiB to 6 MiB: direct, indirect and double-indirect blocks */
    make_file("/t/mid/m0", 1 << 20, 1000);
    make_file("/t/mid/m1", 3 << 20, 1001);
    make_file("/t/mid/m2", (6 << 20) + 123, 1002);
    make_file("/t/mid/m3", 1024, 1003);
    /* the scale: 10,000 files and 200 MiB in all (with the rest
     * of the tree): 9,600 more small files in 24 directories, five files
     * of 33 MiB */
    if (mkdir("/t/many", 0755) || mkdir("/t/big", 0755)) die("mkdir");
    for (int d = 0; d < 24; d++) {
        snprintf(p, sizeof p, "/t/many/d%02d", d);
        if (mkdir(p, 0755)) die(p);
        for (int i = 0; i < 400; i++) {
            int k = d * 400 + i;
            snprintf(p, sizeof p, "/t/many/d%02d/n%04d", d, k);
            make_file(p, (uint64_t)(k * 53) % 6000, (unsigned)(2000 + k));
        }
    }
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "/t/big/b%d", i);
        make_file(p, 33 << 20, (unsigned)(3000 + i));
    }
    /* a sparse file: data at both ends and the middle of 16 MiB */
    int fd = open("/t/sparse", O_CREAT | O_WRONLY, 0600);
    if (fd < 0) die("/t/sparse");
    put(fd, 0, 5000, 7, "/t/sparse");
    put(fd, 8 << 20, 4096, 8, "/t/sparse");
    put(fd, (16 << 20) - 100, 100, 9, "/t/sparse");
    close(fd);
    /* symlinks: fast (in the inode), slow (a block), dangling */
    if (symlink("small/f001", "/t/ln_fast")) die("symlink fast");
    char longt[200];
    memset(longt, 'x', sizeof longt);
    memcpy(longt, "mid/", 4);
    longt[sizeof longt - 1] = 0;
    if (symlink(longt, "/t/ln_slow")) die("symlink slow");
    if (symlink("/nowhere/at/all", "/t/ln_dangling")) die("symlink dangling");
    /* hard links */
    if (link("/t/mid/m0", "/t/hard_m0") || link("/t/mid/m0", "/t/small/hard_m0")) die("link");
    /* a 32-deep directory */
    strcpy(p, "/t/deep");
    if (mkdir(p, 0755)) die(p);
    for (int i = 0; i < 32; i++) {
        size_t l = strlen(p);
        snprintf(p + l, sizeof p - l, "/d%02d", i);
        if (mkdir(p, 0755)) die(p);
    }
    strcat(p, "/leaf.txt");
    make_file(p, 77, 77);
    if (chmod("/t/small/f005", 0400)) die("chmod");
    /* the 5 GiB sparse file */
    fd = open("/huge", O_CREAT | O_WRONLY, 0644);
    if (fd < 0) die("/huge");
    for (size_t i = 0; i < sizeof HUGE_CHUNKS / sizeof *HUGE_CHUNKS; i++)
        put(fd, HUGE_CHUNKS[i], 65536, 9, "/huge");
    close(fd);
    struct stat st;
    if (stat("/huge", &st)) die("stat /huge");
    /* holes read as zeros, the data back */
    fd = open("/huge", O_RDONLY);
    if (fd < 0) die("/huge");
    static uint8_t b[65536];
    if (pread(fd, b, 4096, 2ULL << 30) != 4096) die("pread hole");
    for (int i = 0; i < 4096; i++)
        if (b[i]) {
            printf("disktree: FAILED /huge: byte %d of the hole at 2 GiB is %u\n", i, b[i]);
            exit(1);
        }
    for (size_t i = 0; i < sizeof HUGE_CHUNKS / sizeof *HUGE_CHUNKS; i++) {
        if (pread(fd, b, 65536, (off_t)HUGE_CHUNKS[i]) != 65536) die("pread /huge");
        for (int j = 0; j < 65536; j++)
            if (b[j] != pattern(HUGE_CHUNKS[i] + j, 9)) {
                printf("disktree: FAILED /huge: chunk %zu differs at %d\n", i, j);
                exit(1);
            }
    }
    close(fd);
    printf("disktree: huge size %lld blocks %lld\n", (long long)st.st_size, (long long)st.st_blocks);
}

static void crash(void) {
    int fd = open("/crash.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) die("/crash.bin");
    put(fd, 0, (2 << 20) + 555, 42, "/crash.bin");
    if (fsync(fd)) die("fsync");
    int dfd = open("/", O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || fsync(dfd)) die("fsync /");
    close(dfd);
    printf("disktree: fsync returned\n");
    fflush(stdout);
    /* unsynced work until QEMU is killed */
    char p[64];
    for (unsigned i = 0;; i++) {
        snprintf(p, sizeof p, "/noise%u", i % 50);
        make_file(p, 200000, i);
        if (i % 50 == 49) put(fd, 0, 4096, i, "/crash.bin rewrite never fsynced");
        if (i % 7 == 0) unlink(p);
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "write")) {
        write_tree();
        list("/t", "");
        sync();
        printf("disktree: synced\n");
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "hash")) {
        list(argv[2], "");
        /* the root is mounted read-only (no "rw" on the command line) */
        int fd = open("/new-file", O_CREAT | O_WRONLY, 0644);
        printf("disktree: create on the read-only root: %s\n", fd < 0 ? strerror(errno) : "succeeded");
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "crash")) crash();
    printf("disktree: usage: disktree write | hash DIR | crash\n");
    return 2;
}
