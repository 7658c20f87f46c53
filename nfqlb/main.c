/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c: the nfqlb binary. */
#include "nfqlb/cli.h"

int main(int argc, char **argv)
{
	return nfqlb_run(argc, argv);
}
