/* AF_INET6 over ::1: TCP and UDP, v4-mapped addresses on a dual-stack
 * socket, IPV6_V6ONLY (the port shared with AF_INET, EINVAL once bound,
 * ENOPROTOOPT on AF_INET), bind conflicts across families, address lengths. */
#include "kt_inet.h"

static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
static const struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;

static int listener6(const struct in6_addr *ip, int v6only) {
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    if (l < 0) return -1;
    if (v6only >= 0 && kt_setint(l, IPPROTO_IPV6, IPV6_V6ONLY, v6only) != 0) return -1;
    struct sockaddr_in6 a = kt_sin6(ip, 0);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0) return -1;
    return l;
}

KT_CASE(lo_up) {
    KT_SYS_RET(kt_lo_up(), 0);
}

KT_CASE(tcp6_round_trip) {
    int l = KT_SYS_OK(listener6(&lo6, -1));
    int c = KT_SYS_OK(socket(AF_INET6, SOCK_STREAM, 0));
    struct sockaddr_in6 a = kt_sin6(&lo6, kt_port_of(l));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    struct sockaddr_in6 peer;
    socklen_t pl = sizeof peer;
    int s = KT_SYS_OK(accept(l, (struct sockaddr *)&peer, &pl));
    KT_EQ(pl, sizeof peer);
    KT_EQ(peer.sin6_family, AF_INET6);
    KT_TRUE(memcmp(&peer.sin6_addr, &lo6, 16) == 0, "peer not ::1");
    KT_EQ(ntohs(peer.sin6_port), kt_port_of(c));
    KT_SYS_RET(write(c, "six", 3), 3);
    char b[4];
    KT_SYS_RET(read(s, b, 4), 3);
    KT_EQ(kt_getint(c, SOL_SOCKET, SO_DOMAIN), AF_INET6);
    close(c);
    close(s);
    close(l);
}

KT_CASE(udp6_round_trip) {
    int a = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    struct sockaddr_in6 x = kt_sin6(&lo6, 0);
    KT_SYS_RET(bind(a, (struct sockaddr *)&x, sizeof x), 0);
    int b = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    x.sin6_port = htons(kt_port_of(a));
    KT_SYS_RET(sendto(b, "dgram6", 6, 0, (struct sockaddr *)&x, sizeof x), 6);
    char buf[8];
    struct sockaddr_in6 from;
    socklen_t fl = sizeof from;
    KT_SYS_RET(recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 6);
    KT_EQ(fl, sizeof from);
    KT_TRUE(memcmp(&from.sin6_addr, &lo6, 16) == 0, "from not ::1");
    KT_EQ(ntohs(from.sin6_port), kt_port_of(b));
    close(a);
    close(b);
}

KT_CASE(dual_stack_takes_v4) {
    int l = KT_SYS_OK(listener6(&any6, -1));
    KT_EQ(kt_getint(l, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, kt_port_of(l));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    struct sockaddr_in6 peer;
    socklen_t pl = sizeof peer;
    int s = KT_SYS_OK(accept(l, (struct sockaddr *)&peer, &pl));
    KT_EQ(peer.sin6_family, AF_INET6);
    KT_TRUE(IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr), "not v4-mapped");
    KT_EQ(ntohl(((uint32_t *)&peer.sin6_addr)[3]), KT_LOOP4);
    struct sockaddr_in6 me;
    pl = sizeof me;
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&me, &pl), 0);
    KT_TRUE(IN6_IS_ADDR_V4MAPPED(&me.sin6_addr), "local not v4-mapped");
    close(c);
    close(s);
    close(l);
}

KT_CASE(v6_connects_to_mapped) {
    int l = KT_SYS_OK(kt_listener4(2));
    int c = KT_SYS_OK(socket(AF_INET6, SOCK_STREAM, 0));
    struct in6_addr m = {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}}};
    struct sockaddr_in6 a = kt_sin6(&m, kt_port_of(l));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    int s = KT_SYS_OK(accept(l, NULL, NULL));
    close(s);
    close(c);
    int o = KT_SYS_OK(socket(AF_INET6, SOCK_STREAM, 0));
    KT_SYS_RET(kt_setint(o, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
    KT_SYS_ERR(connect(o, (struct sockaddr *)&a, sizeof a), ENETUNREACH);
    close(o);
    close(l);
}

KT_CASE(v6only_refuses_v4) {
    int l = KT_SYS_OK(listener6(&any6, 1));
    KT_EQ(kt_getint(l, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, kt_port_of(l));
    KT_SYS_ERR(connect(c, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
    close(c);
    /* and the v4 port is free */
    int t = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    a = kt_sin(INADDR_ANY, kt_port_of(l));
    KT_SYS_RET(bind(t, (struct sockaddr *)&a, sizeof a), 0);
    close(t);
    close(l);
}

KT_CASE(v6only_rules) {
    int s = KT_SYS_OK(socket(AF_INET6, SOCK_STREAM, 0));
    struct sockaddr_in6 a = kt_sin6(&lo6, 0);
    KT_SYS_RET(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    KT_SYS_ERR(kt_setint(s, IPPROTO_IPV6, IPV6_V6ONLY, 1), EINVAL);
    close(s);
    int f = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    KT_SYS_ERR(kt_setint(f, IPPROTO_IPV6, IPV6_V6ONLY, 1), ENOPROTOOPT);
    close(f);
}

KT_CASE(family_conflicts) {
    int t = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(INADDR_ANY, 0);
    KT_SYS_RET(bind(t, (struct sockaddr *)&a, sizeof a), 0);
    int s = KT_SYS_OK(socket(AF_INET6, SOCK_STREAM, 0));
    struct sockaddr_in6 b = kt_sin6(&any6, kt_port_of(t));
    KT_SYS_ERR(bind(s, (struct sockaddr *)&b, sizeof b), EADDRINUSE);
    /* ::1 does not overlap 0.0.0.0 */
    b.sin6_addr = lo6;
    KT_SYS_RET(bind(s, (struct sockaddr *)&b, sizeof b), 0);
    close(s);
    close(t);
}

KT_CASE(address_checks) {
    int s = KT_SYS_OK(socket(AF_INET6, SOCK_STREAM, 0));
    struct in6_addr two = {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}}};
    struct sockaddr_in6 a = kt_sin6(&two, 0);
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, sizeof a), EADDRNOTAVAIL);
    a = kt_sin6(&lo6, 0);
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, 23), EINVAL);
    struct sockaddr_in v4 = kt_sin(KT_LOOP4, 0);
    KT_SYS_ERR(bind(s, (struct sockaddr *)&v4, sizeof v4), EINVAL);
    struct sockaddr_in6 name;
    socklen_t l = sizeof name;
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&name, &l), 0);
    KT_EQ(l, sizeof name);
    KT_EQ(name.sin6_family, AF_INET6);
    KT_TRUE(IN6_IS_ADDR_UNSPECIFIED(&name.sin6_addr), "not ::");
    close(s);
}

KT_CASE(udp6_mapped_to_v4) {
    int a = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in x = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(bind(a, (struct sockaddr *)&x, sizeof x), 0);
    int b = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    struct in6_addr m = {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}}};
    struct sockaddr_in6 to = kt_sin6(&m, kt_port_of(a));
    KT_SYS_RET(sendto(b, "m", 1, 0, (struct sockaddr *)&to, sizeof to), 1);
    char c;
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    KT_SYS_RET(recvfrom(a, &c, 1, 0, (struct sockaddr *)&from, &fl), 1);
    KT_EQ(ntohl(from.sin_addr.s_addr), KT_LOOP4);
    KT_EQ(ntohs(from.sin_port), kt_port_of(b));
    close(a);
    close(b);
}

KT_MAIN()
