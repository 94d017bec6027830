/* Preloaded into the HSM server process: make it non-dumpable before main() runs.
 * A non-dumpable process writes no core file on a crash and refuses ptrace from
 * unprivileged peers, so the process that holds the keys never lands in a crash dump.
 * prctl(PR_SET_DUMPABLE) does not survive execve, hence a constructor, not a launcher. */
#include <sys/prctl.h>

__attribute__((constructor)) static void signward_nodump(void) {
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
