/* SPDX-License-Identifier: GPL-2.0-or-later */
/* health.h: `nfqlb health`, the health checker.
 *
 * A separate process from the worker: it probes each configured target
 * (probe.h) and activates or deactivates it through the table's ordinary
 * updates (shm_activate(), shm_deactivate()), so a checker that fails or is
 * killed leaves the table as it last wrote it.
 */
#ifndef NFQLB_HEALTH_H
#define NFQLB_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

/* A target's health: up or down, and the results against it in a row. */
struct health_state {
	bool up;
	uint32_t count;	/* consecutive results that disagree with `up` */
};

/**
 * health_step - count one probe result
 * @s: the state
 * @ok: whether the probe succeeded
 * @rise: successes in a row that bring a down target up (>= 1)
 * @fall: failures in a row that bring an up target down (>= 1)
 *
 * A result that agrees with the state resets the count, so only an
 * unbroken run of rise successes (or fall failures) changes the state.
 * Returns true when the state changed.
 */
bool health_step(struct health_state *s, bool ok, uint32_t rise, uint32_t fall);

#endif
