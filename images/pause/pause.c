/*
 * pause: the infrastructure ("sandbox") container of a podctl Pod.
 *
 * It owns the Pod's shared namespaces (network, IPC, optionally PID) so that
 * application containers can be restarted without losing them.  It must
 * therefore do nothing, cost nothing, stop instantly when asked and, when it
 * is PID 1 of a shared PID namespace, reap orphaned zombies on behalf of the
 * whole Pod.  Behaviour mirrors Kubernetes' build/pause/linux/pause.c.
 *
 * Build: gcc -static -Os -s -o pause pause.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "podctl-1.0"

/* Only async-signal-safe calls are allowed in handlers, so no stdio here. */
static void write_str(int fd, const char *s)
{
	ssize_t n = (ssize_t)strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, (size_t)n);
		if (w <= 0)
			return;
		s += w;
		n -= w;
	}
}

static void on_shutdown(int signo)
{
	/* Same wording as upstream's psignal(signo, "Shutting down, got signal"). */
	write_str(STDERR_FILENO, "Shutting down, got signal: ");
	write_str(STDERR_FILENO, signo == SIGINT ? "Interrupt\n" : "Terminated\n");
	/*
	 * Exit 0: being stopped is the normal end of a sandbox, and a non-zero
	 * code would make the Pod look failed.
	 */
	_exit(0);
}

static void on_child(int signo)
{
	int saved_errno = errno;

	(void)signo;
	/*
	 * One SIGCHLD may stand for several exited children (signals are not
	 * queued), so drain every zombie that is ready.
	 */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved_errno;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			printf("pause.c %s\n", PAUSE_VERSION);
			return 0;
		}
	}

	/* Only a warning: pause is sometimes run outside a sandbox on purpose. */
	if (getpid() != 1)
		fprintf(stderr, "Warning: pause should be the first process\n");

	/*
	 * Explicit handlers are required, not just convenient: the kernel never
	 * applies a default action to PID 1, so without them SIGTERM would be
	 * ignored and every stop would wait for the engine's SIGKILL timeout.
	 */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_shutdown;
	if (sigaction(SIGINT, &sa, NULL) < 0)
		return 1;
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		return 2;

	sa.sa_handler = on_child;
	/* Stopped/continued children are not zombies; don't wake up for them. */
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		return 3;

	for (;;)
		pause();

	/* Unreachable; kept so a broken libc pause() is noticed, as upstream. */
	fprintf(stderr, "Error: infinite loop terminated\n");
	return 42;
}
