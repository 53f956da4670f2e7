/*
 * kubia: a stand-in for the "luksa/kubia" image used throughout
 * "Kubernetes in Action", so podctl's examples and tests run offline.
 *
 * Like the book's app.js it answers every request with "You've hit
 * <hostname>", which makes it easy to see which Pod served a request.
 * With FAIL_AFTER=N it behaves like luksa/kubia-unhealthy: after N requests
 * every further one gets a 500, to exercise liveness probes and restarts.
 *
 * Environment:
 *   PORT        TCP port to listen on (default 8080)
 *   FAIL_AFTER  answer 500 once this many requests have been served
 *
 * Build: gcc -static -O2 -s -o kubia kubia.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PORT 8080
#define HEAD_MAX 8192		/* we never need more than the request head */
#define CLIENT_TIMEOUT 30	/* seconds a connection may live at all */

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stop_signal;

/*
 * Requests are served in forked children, so the count that drives
 * FAIL_AFTER must live in memory shared with them.  It is bumped by the
 * child only once bytes actually arrive: a TCP probe that connects and
 * closes is not an HTTP request (as with Node's http server) and must not
 * push the app towards failure.
 */
static unsigned long *request_count;

static void on_stop(int signo)
{
	stop_signal = signo;
	stop_requested = 1;
}

static void on_child(int signo)
{
	(void)signo;
	/* Nothing to do: it only has to interrupt ppoll() so we reap. */
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Returns -1 if s is not a whole decimal number within [min, max]. */
static long parse_env_long(const char *name, long min, long max)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "kubia: invalid %s=%s\n", name, s);
		exit(1);
	}
	return v;
}

static int listen_on(int port)
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	int one = 1, zero = 0;
	int fd;

	/*
	 * One dual-stack socket serves both IPv4 and IPv6 clients.  It is not
	 * always available (kernel booted with ipv6.disable=1), hence the
	 * IPv4-only fallback.
	 */
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_addr = in6addr_any;
		a6.sin6_port = htons((unsigned short)port);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) == 0 &&
		    bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			return fd;
		close(fd);
	}

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("kubia: socket");
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_addr.s_addr = htonl(INADDR_ANY);
	a4.sin_port = htons((unsigned short)port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
		die("kubia: bind");
	if (listen(fd, SOMAXCONN) < 0)
		die("kubia: listen");
	return fd;
}

/*
 * Formats the peer the way Node's request.connection.remoteAddress does
 * (IPv4 clients of a dual-stack socket show as ::ffff:a.b.c.d), so logs
 * look like the ones printed in the book.
 */
static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *src = NULL;

	if (ss->ss_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	else if (ss->ss_family == AF_INET)
		src = &((const struct sockaddr_in *)ss)->sin_addr;
	if (src == NULL || inet_ntop(ss->ss_family, src, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "unknown");
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		/* MSG_NOSIGNAL: a client that hung up must not kill us via SIGPIPE. */
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Reads until the blank line ending the head, EOF, or HEAD_MAX bytes.
 * The method, path and any body are irrelevant: every request gets the
 * same answer, /healthz included.  Returns the number of bytes read.
 */
static size_t read_head(int fd)
{
	char buf[HEAD_MAX + 1];
	size_t len = 0;

	while (len < HEAD_MAX) {
		ssize_t r = read(fd, buf + len, HEAD_MAX - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
	return len;
}

static void serve(int fd, const struct sockaddr_storage *peer, long fail_after)
{
	char addr[INET6_ADDRSTRLEN];
	char host[HOST_NAME_MAX + 1];
	char body[HOST_NAME_MAX + 64];
	char resp[sizeof(body) + 256];
	struct timeval tv = { .tv_sec = 1 };
	unsigned long n;
	int blen, rlen, failing;
	char drain[512];

	/* A client that stalls forever must not leave a child behind forever. */
	alarm(CLIENT_TIMEOUT);

	if (read_head(fd) == 0)
		return;	/* connected and closed without a request: not one */

	n = __atomic_add_fetch(request_count, 1, __ATOMIC_SEQ_CST);
	failing = fail_after >= 0 && n > (unsigned long)fail_after;

	format_addr(peer, addr, sizeof(addr));
	printf("Received request from %s\n", addr);
	fflush(stdout);

	if (failing) {
		blen = snprintf(body, sizeof(body), "I'm not well. Please restart me!\n");
	} else {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "unknown");
		host[HOST_NAME_MAX] = '\0';
		blen = snprintf(body, sizeof(body), "You've hit %s\n", host);
	}
	rlen = snprintf(resp, sizeof(resp),
			"HTTP/1.1 %s\r\n"
			"Content-Type: text/plain\r\n"
			"Content-Length: %d\r\n"
			"Connection: close\r\n"
			"\r\n"
			"%s",
			failing ? "500 Internal Server Error" : "200 OK", blen, body);
	if (send_all(fd, resp, (size_t)rlen) < 0)
		return;

	/*
	 * Closing with unread input (e.g. a POST body) makes the kernel send an
	 * RST, which can destroy the response before the client reads it.
	 * Half-close and drain briefly so the client sees a clean EOF.
	 */
	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (read(fd, drain, sizeof(drain)) > 0)
		;
}

int main(void)
{
	struct sigaction sa;
	sigset_t block, waitmask;
	struct pollfd pfd;
	long port, fail_after;
	int lfd;

	/* Logs are read with `docker logs` through a pipe: never sit in a buffer. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	port = parse_env_long("PORT", 1, 65535);
	if (port < 0)
		port = DEFAULT_PORT;
	fail_after = parse_env_long("FAIL_AFTER", 0, LONG_MAX);

	request_count = mmap(NULL, sizeof(*request_count), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (request_count == MAP_FAILED)
		die("kubia: mmap");
	*request_count = 0;

	/*
	 * We are usually PID 1, which gets no default signal actions, so
	 * SIGTERM must be handled or `docker stop` would wait for SIGKILL.
	 * The signals stay blocked except inside ppoll(): that closes the race
	 * where a signal lands between checking stop_requested and sleeping.
	 */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGCHLD);

	lfd = listen_on((int)port);

	printf("Kubia server starting...\n");
	fflush(stdout);

	pfd.fd = lfd;
	pfd.events = POLLIN;
	while (!stop_requested) {
		/* Reap every finished connection handler; SIGCHLD doesn't queue. */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;

		if (ppoll(&pfd, 1, NULL, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			die("kubia: ppoll");
		}

		for (;;) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);
			pid_t pid;
			int cfd;

			cfd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
			if (cfd < 0)
				break;	/* EAGAIN: backlog drained; others: skip */

			/*
			 * One child per connection so a slow or silent client
			 * can never hold up anybody else.
			 */
			pid = fork();
			if (pid == 0) {
				signal(SIGTERM, SIG_DFL);
				signal(SIGINT, SIG_DFL);
				signal(SIGCHLD, SIG_DFL);
				sigprocmask(SIG_SETMASK, &waitmask, NULL);
				close(lfd);
				serve(cfd, &peer, fail_after);
				close(cfd);
				_exit(0);
			}
			if (pid < 0)
				perror("kubia: fork");
			close(cfd);
		}
	}

	/*
	 * Exit right away, with the status a process killed by the signal
	 * would report (128 + signo: 143 for SIGTERM), as Docker shows for apps
	 * without a handler. In-flight children die with PID 1 of the container.
	 */
	close(lfd);
	return 128 + stop_signal;
}
