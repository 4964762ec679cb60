/* pause: the process that holds a pod's namespaces. It sleeps, reaps orphans when it is the
 * pod's PID 1, and exits 0 on SIGINT or SIGTERM. Built static, for the board, by the Makefile. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
		puts("tug pause 1");
		return 0;
	}
	struct sigaction stop = { .sa_handler = on_stop },
	                 chld = { .sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART };
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGCHLD, &chld, NULL);
	if (getpid() != 1)
		fprintf(stderr, "pause: not running as PID 1\n");
	for (;;)
		pause();
}
