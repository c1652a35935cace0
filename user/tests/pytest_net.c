/* What CPython's test_socket found different from Linux (cargo xtask
 * pytest): getsockname of a connected UDP socket bound to the wildcard
 * gave the wildcard, where Linux gives the route's source address (set
 * at connect, reset by a connect to AF_UNSPEC). glibc's getaddrinfo
 * connects one AF_INET6 socket in turn to ::1 and to 127.0.0.1 and
 * asserts the second source address is v4-mapped: python3 aborted in
 * testGetaddrinfo. */
#include "kt_inet.h"

static const struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;

KT_CASE(lo_up) {
    KT_SYS_RET(kt_lo_up(), 0);
}

KT_CASE(udp6_connect_sets_the_source_address) {
    int s = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    struct sockaddr_in6 to = kt_sin6(&lo6, 9), got;
    socklen_t l = sizeof got;
    KT_SYS_RET(connect(s, (struct sockaddr *)&to, sizeof to), 0);
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&got, &l), 0);
    KT_EQ(l, sizeof got);
    KT_EQ(got.sin6_family, AF_INET6);
    KT_EQ(memcmp(&got.sin6_addr, &lo6, 16), 0);
    int port = ntohs(got.sin6_port);
    KT_NE(port, 0);
    /* AF_UNSPEC: back to the wildcard (Linux also drops the autobound
     * port, which ours keeps: not asserted, see docs/status.md) */
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    KT_SYS_RET(connect(s, &un, sizeof un), 0);
    l = sizeof got;
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&got, &l), 0);
    static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
    KT_EQ(memcmp(&got.sin6_addr, &any6, 16), 0);
    /* an AF_INET peer on the AF_INET6 socket: a v4-mapped source */
    struct sockaddr_in to4 = kt_sin(KT_LOOP4, 9);
    KT_SYS_RET(connect(s, (struct sockaddr *)&to4, sizeof to4), 0);
    l = sizeof got;
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&got, &l), 0);
    KT_EQ(got.sin6_family, AF_INET6);
    KT_TRUE(IN6_IS_ADDR_V4MAPPED(&got.sin6_addr), "a v4-mapped source");
    KT_EQ(got.sin6_addr.s6_addr[15], 1);
    KT_EQ(got.sin6_addr.s6_addr[12], 127);
    close(s);
}

KT_CASE(udp4_connect_sets_the_source_address) {
    int s = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in to = kt_sin(KT_LOOP4, 9), got;
    socklen_t l = sizeof got;
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&got, &l), 0);
    KT_EQ(got.sin_addr.s_addr, 0);
    KT_EQ(got.sin_port, 0);
    KT_SYS_RET(connect(s, (struct sockaddr *)&to, sizeof to), 0);
    l = sizeof got;
    KT_SYS_RET(getsockname(s, (struct sockaddr *)&got, &l), 0);
    KT_EQ(ntohl(got.sin_addr.s_addr), KT_LOOP4);
    KT_NE(got.sin_port, 0);
    close(s);
}

KT_MAIN()
