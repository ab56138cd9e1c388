/*
 * main.c - the CUnit runner for tests/unit.
 *
 * Usage: unit_tests [SUITE...]   runs every suite, or only the named ones.
 * Exit status is non-zero when any assertion failed.
 */
#include "unit.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#define UNIT_MAX_SUITES 64

static struct {
	const char *name;
	CU_TestInfo *tests;
} unit_suites[UNIT_MAX_SUITES];
static int unit_nsuites;

void unit_add_suite(const char *name, CU_TestInfo *tests)
{
	if (unit_nsuites == UNIT_MAX_SUITES) {
		fprintf(stderr, "unit: too many suites\n");
		return;
	}
	unit_suites[unit_nsuites].name = name;
	unit_suites[unit_nsuites].tests = tests;
	unit_nsuites++;
}

static int unit_wanted(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned failed;
	int i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (i = 0; i < unit_nsuites; i++) {
		CU_SuiteInfo info[2] = {
			{.pName = unit_suites[i].name, .pTests = unit_suites[i].tests},
			CU_SUITE_INFO_NULL,
		};
		if (!unit_wanted(unit_suites[i].name, argc, argv))
			continue;
		if (CU_register_suites(info) != CUE_SUCCESS) {
			fprintf(stderr, "unit: cannot register %s\n", unit_suites[i].name);
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
