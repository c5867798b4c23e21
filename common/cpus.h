/* cpus.h — how many CPUs this process may use: the default thread count of the
 * engine (eng_default_threads), of compare's and the aggregation's bootstraps.
 */
#ifndef MRL_CPUS_H
#define MRL_CPUS_H

/* The CPUs in this process's affinity mask (so taskset and container CPU sets are
 * honoured), else the online CPUs; 1 where neither can be read, at most 1024. */
int mrl_cpus(void);

#endif
