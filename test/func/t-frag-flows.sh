#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-frag-flows: t-frag-dsr through `lb --flows`: a later fragment has no
# ports to match a flow by, so it must take its first fragment's flow and
# target.  One flow (UDP to the VIPs' port 5353) serves the table; every
# check of t-frag-dsr holds, with the flow set's counters.
TEST_NAME=${TEST_NAME:-t-frag-flows} FRAG_FLOWS=1 exec bash "$(dirname "$0")/t-frag-dsr.sh"
