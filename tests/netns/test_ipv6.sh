#!/bin/bash
#
# test_ipv6.sh - test_client_kernel_server.sh over IPv6 (topo_one_server_two_paths with
# fd00:1::/64 and fd00:2::/64, client stack fd77::2): mpsd client --addr fd77::2
# --connect [fd00:1::2]:8080, the kernel server announcing fd00:2::2.  Same checks.

MPS_TEST_NAME=test_ipv6 FAMILY=6 exec "$(dirname "$0")/test_client_kernel_server.sh" "$@"
