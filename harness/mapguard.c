/* mapguard.c — a bus error on a mapped model file becomes a clear message.
 *
 * Weights are read straight from an mmap'd file. When the file is truncated
 * while mapped, touching a page past its new end raises SIGBUS, which by
 * default kills the process without a word (exit 135). The guard installs a
 * SIGBUS handler that, for a faulting address inside a registered mapping,
 * writes one prepared line naming the file (and what to do next) and leaves
 * with _exit(4): what the item writer has flushed is whole on disk (it writes
 * whole lines and fsyncs), what was buffered is dropped and recomputed by
 * --resume. A fault anywhere else is not ours: the default action is restored
 * and the fault re-raised, so real crashes still crash.
 *
 * A signal handler can reach only static storage, so the registrations are the
 * one piece of process-global state in the harness; they are written before the
 * handler is installed and read only by it (async-signal-safe: write, _exit).
 */
#include "harness/hrn.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define GUARD_SLOTS 64 /* mappings: a GGUF is one, an HF checkpoint one per shard */
#define GUARD_MSG_MAX 4096

struct guard_slot {
	const char *base;
	size_t size;
	char msg[GUARD_MSG_MAX];
	size_t msg_len;
};

static struct guard_slot slots[GUARD_SLOTS];
static volatile sig_atomic_t n_slots;
static struct sigaction old_bus;
static bool installed;

static void on_bus(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	const char *addr = si ? (const char *)si->si_addr : NULL;
	for (int i = 0; i < n_slots; i++)
		if (addr && addr >= slots[i].base && addr < slots[i].base + slots[i].size) {
			ssize_t rc = write(STDERR_FILENO, slots[i].msg, slots[i].msg_len);
			(void)rc;
			_exit(HRN_EXIT_RUNTIME);
		}
	/* not a mapped model: let the fault happen as it would without us */
	signal(sig, SIG_DFL);
}

int hrn_mapguard_add(const void *base, size_t size, const char *path, const char *hint)
{
	if (n_slots >= GUARD_SLOTS || !base || !size)
		return -1;
	struct guard_slot *s = &slots[n_slots];
	s->base = base;
	s->size = size;
	int n = snprintf(s->msg, sizeof s->msg,
			 "merilo: %s: the model file was truncated or rewritten on disk while in use (bus error reading "
			 "its mapping); nothing computed from it after the change was written%s%s\n",
			 path, hint && *hint ? "; " : "", hint ? hint : "");
	s->msg_len = n < 0 ? 0 : (size_t)n < sizeof s->msg ? (size_t)n : sizeof s->msg - 1;
	if (!installed) {
		struct sigaction sa = { .sa_sigaction = on_bus, .sa_flags = SA_SIGINFO };
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, &old_bus))
			return -1;
		installed = true;
	}
	n_slots = n_slots + 1;
	return 0;
}

void hrn_mapguard_clear(void)
{
	if (installed)
		sigaction(SIGBUS, &old_bus, NULL);
	installed = false;
	n_slots = 0;
}
