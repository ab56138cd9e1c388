/*
 * unit.h - registration of CUnit suites.
 *
 * Each tests/unit/test_<module>.c ends with
 *     UNIT_SUITE(module, tests_module);
 * where tests_module is a CU_TestInfo table closed by CU_TEST_INFO_NULL.
 * A constructor adds the suite to the list that main.c registers, so adding
 * a test file needs no edit anywhere but Makefile.am.
 */
#ifndef MPS_UNIT_H
#define MPS_UNIT_H

#include <CUnit/CUnit.h>

void unit_add_suite(const char *name, CU_TestInfo *tests);

#define UNIT_SUITE(name, table)                                                \
	__attribute__((constructor)) static void unit_register_##name(void)    \
	{                                                                      \
		unit_add_suite(#name, table);                                  \
	}

#endif
