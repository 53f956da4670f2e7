/*
 * grpchealth: a gRPC server of grpc.health.v1.Health/Check only, over cleartext HTTP/2
 * (prior knowledge, as gRPC clients and the kubelet's probe speak it), for podctl's tests
 * of gRPC probes.  No HPACK decoding is needed: every request is answered as a Check.
 *
 *   grpchealth [PORT]        (default 9000)
 *
 * The answer for service S ("" when the request names none) comes from a file:
 *   /tmp/health      for ""       missing: SERVING
 *   /tmp/health.S    for S        missing: gRPC status NOT_FOUND ("unknown service")
 * A file whose text starts with "NOT" answers NOT_SERVING, any other SERVING; so
 * `echo NOT_SERVING > /tmp/health` in the container turns the pod unhealthy.
 *
 * One process per connection (fork); a connection idle for 10 s is dropped.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define MAX_FRAME 16384
#define MAX_SERVICE 200

enum { DATA = 0, HEADERS = 1, SETTINGS = 4, PING = 6, GOAWAY = 7 };
enum { END_STREAM = 1, ACK = 1, END_HEADERS = 4 };

static int read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int send_frame(int fd, int type, int flags, unsigned stream,
		      const unsigned char *payload, size_t len)
{
	unsigned char head[9] = {
		(unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len,
		(unsigned char)type, (unsigned char)flags,
		(unsigned char)((stream >> 24) & 0x7f), (unsigned char)(stream >> 16),
		(unsigned char)(stream >> 8), (unsigned char)stream,
	};
	if (write(fd, head, 9) != 9)
		return -1;
	if (len && write(fd, payload, len) != (ssize_t)len)
		return -1;
	return 0;
}

/* HPACK "literal header field without indexing, new name", no Huffman coding. */
static size_t literal(unsigned char *out, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value), at = 0;
	out[at++] = 0x00;
	out[at++] = (unsigned char)n;
	memcpy(out + at, name, n);
	at += n;
	out[at++] = (unsigned char)v;
	memcpy(out + at, value, v);
	return at + v;
}

/* The service name of a HealthCheckRequest (field 1, a string) in a gRPC message. */
static void service_of(const unsigned char *msg, size_t len, char *service)
{
	service[0] = 0;
	if (len < 5)
		return;
	size_t at = 5, end = 5 + ((size_t)msg[1] << 24 | (size_t)msg[2] << 16 |
				  (size_t)msg[3] << 8 | msg[4]);
	if (end > len)
		end = len;
	while (at + 1 < end) {
		unsigned char tag = msg[at++];
		size_t size = msg[at++];
		if (size & 0x80) /* two-byte varint is all a name under 200 bytes needs */
			size = (size & 0x7f) | (size_t)msg[at++] << 7;
		if (at + size > end)
			return;
		if (tag == 0x0a && size < MAX_SERVICE) {
			memcpy(service, msg + at, size);
			service[size] = 0;
			return;
		}
		at += size;
	}
}

/* 1 SERVING, 2 NOT_SERVING, -1 unknown service. */
static int status_of(const char *service)
{
	char path[MAX_SERVICE + 32], text[4] = {0};
	if (strchr(service, '/'))
		return -1;
	snprintf(path, sizeof path, service[0] ? "/tmp/health.%s" : "/tmp/health", service);
	FILE *f = fopen(path, "r");
	if (!f)
		return service[0] ? -1 : 1;
	size_t n = fread(text, 1, 3, f);
	fclose(f);
	return n == 3 && !memcmp(text, "NOT", 3) ? 2 : 1;
}

static int answer(int fd, unsigned stream, const char *service)
{
	unsigned char block[256];
	size_t n = 0;
	int status = status_of(service);
	block[n++] = 0x88; /* :status 200, static table entry 8 */
	n += literal(block + n, "content-type", "application/grpc");
	if (send_frame(fd, HEADERS, END_HEADERS, stream, block, n))
		return -1;
	n = 0;
	if (status < 0) {
		n += literal(block + n, "grpc-status", "5");
		n += literal(block + n, "grpc-message", "unknown service");
	} else {
		unsigned char msg[7] = {0, 0, 0, 0, 2, 0x08, (unsigned char)status};
		if (send_frame(fd, DATA, 0, stream, msg, sizeof msg))
			return -1;
		n += literal(block + n, "grpc-status", "0");
	}
	return send_frame(fd, HEADERS, END_HEADERS | END_STREAM, stream, block, n);
}

static void serve(int fd)
{
	unsigned char head[9], payload[MAX_FRAME], body[MAX_FRAME];
	size_t body_len = 0;
	char service[MAX_SERVICE];
	struct timeval idle = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
	if (read_full(fd, payload, strlen(PREFACE)) ||
	    memcmp(payload, PREFACE, strlen(PREFACE)))
		return;
	if (send_frame(fd, SETTINGS, 0, 0, NULL, 0))
		return;
	for (;;) {
		if (read_full(fd, head, 9))
			return;
		size_t len = (size_t)head[0] << 16 | (size_t)head[1] << 8 | head[2];
		int type = head[3], flags = head[4];
		unsigned stream = ((unsigned)head[5] & 0x7f) << 24 | (unsigned)head[6] << 16 |
				  (unsigned)head[7] << 8 | head[8];
		if (len > MAX_FRAME || read_full(fd, payload, len))
			return;
		if (type == SETTINGS && !(flags & ACK)) {
			if (send_frame(fd, SETTINGS, ACK, 0, NULL, 0))
				return;
		} else if (type == PING && !(flags & ACK)) {
			if (send_frame(fd, PING, ACK, 0, payload, len))
				return;
		} else if (type == GOAWAY) {
			return;
		} else if (type == DATA) {
			if (body_len + len <= sizeof body) {
				memcpy(body + body_len, payload, len);
				body_len += len;
			}
		}
		if ((type == DATA || type == HEADERS) && (flags & END_STREAM)) {
			service_of(body, body_len, service);
			body_len = 0;
			if (answer(fd, stream, service))
				return;
		}
	}
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 9000, one = 1;
	int server = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {0};
	signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
	signal(SIGTERM, on_term); /* PID 1 gets no default action for it */
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (server < 0 || bind(server, (struct sockaddr *)&addr, sizeof addr) ||
	    listen(server, 64)) {
		perror("grpchealth");
		return 1;
	}
	printf("grpchealth: serving grpc.health.v1.Health on port %d\n", port);
	fflush(stdout);
	for (;;) {
		int fd = accept(server, NULL, NULL);
		if (fd < 0)
			continue;
		if (fork() == 0) {
			close(server);
			serve(fd);
			_exit(0);
		}
		close(fd);
	}
}
