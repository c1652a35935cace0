/* Mount propagation, Linux 6.1's shared subtrees: a mount under a shared
 * mount seen through its bind, peers across mount namespaces (a new
 * namespace's copies are peers of a shared mount), a slave receiving but
 * not sending, a private mount stopping it, a less privileged
 * namespace's copies made slaves, umount propagation, MS_UNBINDABLE's
 * EINVAL for a bind, MS_REC, and mountinfo's optional fields (shared:N,
 * master:N, propagate_from:N, unbindable). Each case runs in a child in
 * a mount namespace of its own, on a tmpfs of its own, nothing shared
 * with the suite; the other side of a two-namespace case is a forked
 * process that unshares and hands off over pipes. Run as root. */
#include "kt_mount.h"

#include <sys/syscall.h>

#define BASE "/tmp/kt_mntprop"

/* The case's world: a private namespace with a private tmpfs on BASE. */
static int world(void) {
    mkdir(BASE, 0755);
    return km_private_ns() && mount("none", BASE, "tmpfs", 0, "mode=755") == 0;
}

/* Pipes between the case (main) and its other side (peer). */
static int to_peer[2], to_main[2];

/* The peer side `fn` in a forked process after unshare(`flags`); main
 * keeps the other ends. Its pid, -1 on failure. */
static pid_t start_peer(int flags, int (*fn)(void)) {
    if (pipe(to_peer) != 0 || pipe(to_main) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        close(to_peer[1]);
        close(to_main[0]);
        if (unshare(flags) != 0) _exit(90);
        _exit(fn());
    }
    close(to_peer[0]);
    close(to_main[1]);
    return c;
}

/* The peer's exit status (its first failed check's number, 0 when all held). */
static int peer_status(pid_t c) {
    close(to_peer[1]);
    int st = -1;
    if (waitpid(c, &st, 0) != c) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (st & 0x7f);
}

static int group_of_base;

/* ---- a mount under a shared mount, seen through its bind ---- */

static int bind_sees_child(void) {
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/a", 0755) == 0 && mkdir(BASE "/b", 0755) == 0);
    KT_CHILD_CHECK(3, mount("none", BASE "/a", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(4, km_field(BASE "/a", "shared:") == 0);
    KT_CHILD_CHECK(5, mount(NULL, BASE "/a", NULL, MS_SHARED, NULL) == 0);
    int g = km_field(BASE "/a", "shared:");
    KT_CHILD_CHECK(6, g > 0);
    /* a bind of a shared mount is its peer */
    KT_CHILD_CHECK(7, mount(BASE "/a", BASE "/b", NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(8, km_field(BASE "/b", "shared:") == g);
    KT_CHILD_CHECK(9, mkdir(BASE "/a/x", 0755) == 0 && mount("none", BASE "/a/x", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(10, km_put_file(BASE "/a/x/f", "one") == 0);
    KT_CHILD_CHECK(11, km_exists(BASE "/b/x/f"));
    /* a mount under a shared mount is shared, a group of its own */
    int gx = km_field(BASE "/a/x", "shared:");
    KT_CHILD_CHECK(12, gx > 0 && gx != g);
    /* the world itself is private */
    KT_CHILD_CHECK(13, km_field(BASE, "shared:") == 0 && km_field(BASE, "master:") == 0);
    return 0;
}

KT_CASE(a_mount_under_a_shared_mount_seen_through_its_bind) {
    KT_EQ(kt_in_child(bind_sees_child), 0);
}

/* ---- peers across namespaces ---- */

static int peers_peer(void) {
    if (km_field(BASE, "shared:") != group_of_base) return 40;
    if (!km_tell(to_main[1]) || !km_wait(to_peer[0])) return 41;
    /* main's mount came here, in the new mount's group */
    if (!km_exists(BASE "/x/f")) return 42;
    if (km_field(BASE "/x", "shared:") <= 0) return 43;
    if (mount("none", BASE "/y", "tmpfs", 0, NULL) != 0 || km_put_file(BASE "/y/g", "two") != 0) return 44;
    if (!km_tell(to_main[1]) || !km_wait(to_peer[0])) return 45;
    /* main's umount came here too */
    if (km_exists(BASE "/x/f") || km_mounted(BASE "/x") != 0) return 46;
    return 0;
}

static int peers_child(void) {
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/x", 0755) == 0 && mkdir(BASE "/y", 0755) == 0);
    KT_CHILD_CHECK(3, mount(NULL, BASE, NULL, MS_SHARED, NULL) == 0);
    group_of_base = km_field(BASE, "shared:");
    KT_CHILD_CHECK(4, group_of_base > 0);
    pid_t c = start_peer(CLONE_NEWNS, peers_peer);
    KT_CHILD_CHECK(5, c > 0 && km_wait(to_main[0]));
    KT_CHILD_CHECK(6, mount("none", BASE "/x", "tmpfs", 0, NULL) == 0 && km_put_file(BASE "/x/f", "one") == 0);
    KT_CHILD_CHECK(7, km_tell(to_peer[1]) && km_wait(to_main[0]));
    /* the peer's mount came back */
    KT_CHILD_CHECK(8, km_exists(BASE "/y/g") && km_mounted(BASE "/y") == 1);
    KT_CHILD_CHECK(9, km_field(BASE "/x", "shared:") > 0);
    KT_CHILD_CHECK(10, umount(BASE "/x") == 0);
    KT_CHILD_CHECK(11, km_tell(to_peer[1]));
    KT_CHILD_CHECK(12, peer_status(c) == 0);
    return 0;
}

KT_CASE(a_new_namespace_copy_is_a_peer_of_a_shared_mount) {
    KT_EQ(kt_in_child(peers_child), 0);
}

/* ---- a slave receives and does not send ---- */

static int slave_peer(void) {
    char opt[128], want[64];
    if (mount(NULL, BASE, NULL, MS_SLAVE, NULL) != 0) return 40;
    snprintf(want, sizeof want, "master:%d", group_of_base);
    if (km_optional(BASE, opt, sizeof opt) != 0 || strcmp(opt, want) != 0) return 41;
    if (!km_tell(to_main[1]) || !km_wait(to_peer[0])) return 42;
    if (!km_exists(BASE "/x/f")) return 43;
    /* its copy receives from main's mount: a slave, not shared */
    if (km_field(BASE "/x", "master:") <= 0 || km_field(BASE "/x", "shared:") != 0) return 44;
    if (mount("none", BASE "/y", "tmpfs", 0, NULL) != 0 || km_put_file(BASE "/y/g", "two") != 0) return 45;
    if (!km_tell(to_main[1]) || !km_wait(to_peer[0])) return 46;
    if (km_exists(BASE "/x/f") || km_mounted(BASE "/x") != 0) return 47;
    return 0;
}

static int slave_child(void) {
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/x", 0755) == 0 && mkdir(BASE "/y", 0755) == 0);
    KT_CHILD_CHECK(3, mount(NULL, BASE, NULL, MS_SHARED, NULL) == 0);
    group_of_base = km_field(BASE, "shared:");
    pid_t c = start_peer(CLONE_NEWNS, slave_peer);
    KT_CHILD_CHECK(4, c > 0 && km_wait(to_main[0]));
    /* main's mount stays shared (the slave left its group, main is alone) */
    KT_CHILD_CHECK(5, km_field(BASE, "shared:") == group_of_base);
    KT_CHILD_CHECK(6, mount("none", BASE "/x", "tmpfs", 0, NULL) == 0 && km_put_file(BASE "/x/f", "one") == 0);
    KT_CHILD_CHECK(7, km_tell(to_peer[1]) && km_wait(to_main[0]));
    /* nothing came back from the slave */
    KT_CHILD_CHECK(8, !km_exists(BASE "/y/g") && km_mounted(BASE "/y") == 0);
    KT_CHILD_CHECK(9, umount(BASE "/x") == 0 && km_tell(to_peer[1]));
    KT_CHILD_CHECK(10, peer_status(c) == 0);
    return 0;
}

KT_CASE(a_slave_receives_and_does_not_send) {
    KT_EQ(kt_in_child(slave_child), 0);
}

/* ---- private stops it ---- */

static int private_peer(void) {
    char opt[128];
    if (mount(NULL, BASE, NULL, MS_PRIVATE, NULL) != 0) return 40;
    if (km_optional(BASE, opt, sizeof opt) != 0 || strcmp(opt, "") != 0) return 41;
    if (!km_tell(to_main[1]) || !km_wait(to_peer[0])) return 42;
    if (km_exists(BASE "/x/f") || km_mounted(BASE "/x") != 0) return 43;
    if (mount("none", BASE "/y", "tmpfs", 0, NULL) != 0 || km_put_file(BASE "/y/g", "two") != 0) return 44;
    if (!km_tell(to_main[1])) return 45;
    return 0;
}

static int private_child(void) {
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/x", 0755) == 0 && mkdir(BASE "/y", 0755) == 0);
    KT_CHILD_CHECK(3, mount(NULL, BASE, NULL, MS_SHARED, NULL) == 0);
    pid_t c = start_peer(CLONE_NEWNS, private_peer);
    KT_CHILD_CHECK(4, c > 0 && km_wait(to_main[0]));
    KT_CHILD_CHECK(5, mount("none", BASE "/x", "tmpfs", 0, NULL) == 0 && km_put_file(BASE "/x/f", "one") == 0);
    KT_CHILD_CHECK(6, km_tell(to_peer[1]) && km_wait(to_main[0]));
    KT_CHILD_CHECK(7, !km_exists(BASE "/y/g") && km_mounted(BASE "/y") == 0);
    KT_CHILD_CHECK(8, peer_status(c) == 0);
    return 0;
}

KT_CASE(a_private_mount_stops_propagation) {
    KT_EQ(kt_in_child(private_child), 0);
}

/* ---- a less privileged namespace's copies are slaves ---- */

static int userns_peer(void) {
    char opt[128], want[64];
    snprintf(want, sizeof want, "master:%d", group_of_base);
    if (km_optional(BASE, opt, sizeof opt) != 0 || strcmp(opt, want) != 0) return 40;
    if (!km_tell(to_main[1]) || !km_wait(to_peer[0])) return 41;
    if (!km_exists(BASE "/x/f")) return 42;
    if (km_field(BASE "/x", "master:") <= 0 || km_field(BASE "/x", "shared:") != 0) return 43;
    /* its own mount (a user namespace's root may mount tmpfs) stays here */
    if (mount("none", BASE "/y", "tmpfs", 0, NULL) != 0 || km_mounted(BASE "/y") != 1) return 44;
    if (!km_tell(to_main[1])) return 45;
    return 0;
}

static int userns_child(void) {
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/x", 0755) == 0 && mkdir(BASE "/y", 0755) == 0);
    KT_CHILD_CHECK(3, mount(NULL, BASE, NULL, MS_SHARED, NULL) == 0);
    group_of_base = km_field(BASE, "shared:");
    pid_t c = start_peer(CLONE_NEWUSER | CLONE_NEWNS, userns_peer);
    KT_CHILD_CHECK(4, c > 0 && km_wait(to_main[0]));
    KT_CHILD_CHECK(5, mount("none", BASE "/x", "tmpfs", 0, NULL) == 0 && km_put_file(BASE "/x/f", "one") == 0);
    KT_CHILD_CHECK(6, km_tell(to_peer[1]) && km_wait(to_main[0]));
    KT_CHILD_CHECK(7, km_mounted(BASE "/y") == 0);
    KT_CHILD_CHECK(8, peer_status(c) == 0);
    return 0;
}

KT_CASE(a_less_privileged_copy_is_a_slave) {
    KT_EQ(kt_in_child(userns_child), 0);
}

/* ---- unbindable ---- */

static int unbindable_child(void) {
    char opt[128];
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/u", 0755) == 0 && mkdir(BASE "/t", 0755) == 0);
    KT_CHILD_CHECK(3, mount("none", BASE "/u", "tmpfs", 0, NULL) == 0 && mkdir(BASE "/u/sub", 0755) == 0);
    KT_CHILD_CHECK(4, mount(NULL, BASE "/u", NULL, MS_UNBINDABLE, NULL) == 0);
    KT_CHILD_CHECK(5, km_optional(BASE "/u", opt, sizeof opt) == 0 && strcmp(opt, "unbindable") == 0);
    KT_CHILD_CHECK(6, mount(BASE "/u", BASE "/t", NULL, MS_BIND, NULL) == -1 && errno == EINVAL);
    /* a directory in it is refused too: the source mount is unbindable */
    KT_CHILD_CHECK(7, mount(BASE "/u/sub", BASE "/t", NULL, MS_BIND, NULL) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(8, mount(BASE "/u", BASE "/t", NULL, MS_BIND | MS_REC, NULL) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(9, km_mounted(BASE "/t") == 0);
    /* shared again: bindable, and the bind is its peer */
    KT_CHILD_CHECK(10, mount(NULL, BASE "/u", NULL, MS_SHARED, NULL) == 0);
    KT_CHILD_CHECK(11, km_optional(BASE "/u", opt, sizeof opt) == 0 && strncmp(opt, "shared:", 7) == 0);
    KT_CHILD_CHECK(12, mount(BASE "/u", BASE "/t", NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(13, km_field(BASE "/t", "shared:") == km_field(BASE "/u", "shared:"));
    /* private and unbindable: the bind stays bindable (a mount of its own) */
    KT_CHILD_CHECK(14, mount(NULL, BASE "/u", NULL, MS_UNBINDABLE, NULL) == 0);
    KT_CHILD_CHECK(15, km_optional(BASE "/t", opt, sizeof opt) == 0 && strncmp(opt, "shared:", 7) == 0);
    return 0;
}

KT_CASE(unbindable_refuses_a_bind) {
    KT_EQ(kt_in_child(unbindable_child), 0);
}

/* ---- MS_REC and mountinfo's fields ---- */

static int shared_slave_peer(void) {
    char opt[128], want[64];
    if (mount(NULL, BASE, NULL, MS_SLAVE, NULL) != 0 || mount(NULL, BASE, NULL, MS_SHARED, NULL) != 0) return 40;
    int m = km_field(BASE, "shared:");
    if (m <= 0 || m == group_of_base) return 41;
    snprintf(want, sizeof want, "shared:%d master:%d", m, group_of_base);
    if (km_optional(BASE, opt, sizeof opt) != 0 || strcmp(opt, want) != 0) return 42;
    /* private again, and a slave of nothing stays private */
    if (mount(NULL, BASE, NULL, MS_PRIVATE, NULL) != 0 || mount(NULL, BASE, NULL, MS_SLAVE, NULL) != 0) return 43;
    if (km_optional(BASE, opt, sizeof opt) != 0 || strcmp(opt, "") != 0) return 44;
    return 0;
}

static int rec_child(void) {
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/a", 0755) == 0 && mount("none", BASE "/a", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(3, mkdir(BASE "/a/b", 0755) == 0 && mount("none", BASE "/a/b", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(4, mount(NULL, BASE, NULL, MS_SHARED | MS_REC, NULL) == 0);
    int g1 = km_field(BASE, "shared:"), g2 = km_field(BASE "/a", "shared:"), g3 = km_field(BASE "/a/b", "shared:");
    KT_CHILD_CHECK(5, g1 > 0 && g2 > 0 && g3 > 0 && g1 != g2 && g2 != g3 && g1 != g3);
    /* without MS_REC only the one mount */
    KT_CHILD_CHECK(6, mount(NULL, BASE "/a", NULL, MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(7, km_field(BASE "/a", "shared:") == 0 && km_field(BASE "/a/b", "shared:") == g3);
    group_of_base = g1;
    pid_t c = start_peer(CLONE_NEWNS, shared_slave_peer);
    KT_CHILD_CHECK(8, c > 0 && peer_status(c) == 0);
    KT_CHILD_CHECK(9, mount(NULL, BASE, NULL, MS_PRIVATE | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(10, km_field(BASE, "shared:") == 0 && km_field(BASE "/a/b", "shared:") == 0);
    /* the root of a process's view at boot is private, as Linux's
     * initramfs root until someone makes it shared (checked in the
     * suite's namespace by the case below) */
    return 0;
}

KT_CASE(ms_rec_and_the_fields_of_a_shared_slave) {
    KT_EQ(kt_in_child(rec_child), 0);
}

/* ---- propagate_from ---- */

static int dominating_peer(void) {
    char opt[128], want[64];
    int g2 = km_field(BASE "/b", "shared:");
    /* the copy of b leaves g2 (b keeps it in main's namespace): a slave
     * of g2, which has no member here, while g2's master g1 has one (a) */
    if (mount(NULL, BASE "/b", NULL, MS_SLAVE, NULL) != 0) return 40;
    snprintf(want, sizeof want, "master:%d propagate_from:%d", g2, group_of_base);
    if (km_optional(BASE "/b", opt, sizeof opt) != 0 || strcmp(opt, want) != 0) {
        printf("  got \"%s\", want \"%s\"\n", opt, want);
        return 41;
    }
    return 0;
}

static int dominating_child(void) {
    char opt[128], want[64];
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/a", 0755) == 0 && mkdir(BASE "/b", 0755) == 0);
    KT_CHILD_CHECK(3, mount("none", BASE "/a", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(4, mount(NULL, BASE "/a", NULL, MS_SHARED, NULL) == 0);
    int g1 = km_field(BASE "/a", "shared:");
    KT_CHILD_CHECK(5, mount(BASE "/a", BASE "/b", NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(6, mount(NULL, BASE "/b", NULL, MS_SLAVE, NULL) == 0 && km_field(BASE "/b", "master:") == g1);
    KT_CHILD_CHECK(7, mount(NULL, BASE "/b", NULL, MS_SHARED, NULL) == 0);
    int g2 = km_field(BASE "/b", "shared:");
    snprintf(want, sizeof want, "shared:%d master:%d", g2, g1);
    KT_CHILD_CHECK(8, km_optional(BASE "/b", opt, sizeof opt) == 0 && strcmp(opt, want) == 0);
    group_of_base = g1;
    pid_t c = start_peer(CLONE_NEWNS, dominating_peer);
    KT_CHILD_CHECK(9, c > 0 && peer_status(c) == 0);
    return 0;
}

KT_CASE(propagate_from_names_the_nearest_group_seen) {
    KT_EQ(kt_in_child(dominating_child), 0);
}

/* ---- iproute2's `ip netns add/exec/delete` pattern ---- */

static unsigned long netns_ino;

static int netns_peer(void) {
    /* `ip netns exec`: a slave of everything */
    if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) != 0) return 40;
    if (km_field(BASE "/netns", "master:") <= 0) return 41;
    if (!km_tell(to_main[1]) || !km_wait(to_peer[0])) return 42;
    /* `ip netns add` in main after this namespace was made: received */
    if (km_ino(BASE "/netns/one") != netns_ino || km_mounted(BASE "/netns/one") != 1) return 43;
    if (!km_tell(to_main[1]) || !km_wait(to_peer[0])) return 44;
    /* `ip netns delete`: its umount received too */
    if (km_ino(BASE "/netns/one") == netns_ino || km_mounted(BASE "/netns/one") != 0) return 45;
    return 0;
}

static int netns_child(void) {
    KT_CHILD_CHECK(1, world());
    KT_CHILD_CHECK(2, mkdir(BASE "/netns", 0755) == 0);
    /* netns_add(): MS_SHARED|MS_REC, EINVAL on a plain directory, so it
     * is bound on itself first */
    KT_CHILD_CHECK(3, mount("", BASE "/netns", "none", MS_SHARED | MS_REC, NULL) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(4, mount(BASE "/netns", BASE "/netns", "none", MS_BIND | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(5, mount("", BASE "/netns", "none", MS_SHARED | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(6, km_field(BASE "/netns", "shared:") > 0);
    netns_ino = km_ino("/proc/self/ns/net");
    KT_CHILD_CHECK(7, netns_ino != 0 && km_put_file(BASE "/netns/one", "") == 0);
    pid_t c = start_peer(CLONE_NEWNS, netns_peer);
    KT_CHILD_CHECK(8, c > 0 && km_wait(to_main[0]));
    KT_CHILD_CHECK(9, mount("/proc/self/ns/net", BASE "/netns/one", "none", MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(10, km_ino(BASE "/netns/one") == netns_ino);
    KT_CHILD_CHECK(11, km_tell(to_peer[1]) && km_wait(to_main[0]));
    KT_CHILD_CHECK(12, umount2(BASE "/netns/one", MNT_DETACH) == 0 && unlink(BASE "/netns/one") == 0);
    KT_CHILD_CHECK(13, km_tell(to_peer[1]));
    KT_CHILD_CHECK(14, peer_status(c) == 0);
    return 0;
}

KT_CASE(ip_netns_add_and_delete_reach_an_exec_namespace) {
    KT_EQ(kt_in_child(netns_child), 0);
}

/* ---- the root at boot ---- */

KT_CASE(the_root_is_private_at_boot) {
    char opt[128];
    /* the suite's own namespace, as init left it */
    KT_EQ(km_optional("/", opt, sizeof opt), 0);
    KT_TRUE(strcmp(opt, "") == 0, "opt=\"%s\"", opt);
}

KT_MAIN()
