/*
 * doctor.h: certspool doctor (doctor.c, doctor_ca.c), which checks a
 * deployment and reports the demo-only settings in force too
 * (demo_settings.h).
 */
#ifndef CERTSPOOL_DOCTOR_H
#define CERTSPOOL_DOCTOR_H

#include "demo_settings.h"

/* certspool doctor [--json] [--strict]: loads confpath itself, so that
 * a config that does not load is reported as a problem.  Exit status. */
int	 cmd_doctor(const char *confpath, int argc, char **argv);

#endif
