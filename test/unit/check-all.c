/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check-all.c: the single Check runner for every unit-test suite. */
#include <stdlib.h>

#include "test/unit/suites.h"

int main(void)
{
	SRunner *sr = srunner_create(make_maglev_suite());
	int failed;

	srunner_add_suite(sr, make_shm_suite());
	srunner_add_suite(sr, make_pkt_suite());
	srunner_add_suite(sr, make_cli_suite());
	srunner_add_suite(sr, make_verify_suite());
	srunner_add_suite(sr, make_rules_suite());
	srunner_add_suite(sr, make_route_suite());
	srunner_add_suite(sr, make_lb_suite());
	srunner_add_suite(sr, make_queue_suite());
	srunner_add_suite(sr, make_frag_suite());
	srunner_add_suite(sr, make_health_suite());
	srunner_add_suite(sr, make_shed_suite());
	srunner_add_suite(sr, make_prom_suite());
	srunner_add_suite(sr, make_save_suite());
	srunner_add_suite(sr, make_match_suite());
	srunner_add_suite(sr, make_encap_suite());
	srunner_add_suite(sr, make_flowset_suite());
	srunner_add_suite(sr, make_flowrules_suite());
	srunner_add_suite(sr, make_trace_suite());
	srunner_add_suite(sr, make_fastpath_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
