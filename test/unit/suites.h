/* SPDX-License-Identifier: GPL-2.0-or-later */
/* suites.h: one make_<area>_suite() per test file, run from check-all.c. */
#ifndef NFQLB_TEST_SUITES_H
#define NFQLB_TEST_SUITES_H

#include <check.h>

Suite *make_maglev_suite(void);
Suite *make_shm_suite(void);
Suite *make_pkt_suite(void);
Suite *make_cli_suite(void);
Suite *make_verify_suite(void);
Suite *make_rules_suite(void);
Suite *make_route_suite(void);
Suite *make_lb_suite(void);
Suite *make_queue_suite(void);
Suite *make_frag_suite(void);
Suite *make_health_suite(void);
Suite *make_shed_suite(void);
Suite *make_prom_suite(void);
Suite *make_save_suite(void);
Suite *make_match_suite(void);
Suite *make_encap_suite(void);
Suite *make_flowset_suite(void);
Suite *make_flowrules_suite(void);
Suite *make_trace_suite(void);
Suite *make_fastpath_suite(void);

#endif
