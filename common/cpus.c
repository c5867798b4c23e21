/* cpus.c — how many CPUs this process may use (common/cpus.h). */
#include "common/cpus.h"

#include <sched.h>
#include <unistd.h>

int mrl_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 && c <= 1024 ? (int)c : 1;
}
