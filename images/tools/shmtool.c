/*
 * shmtool: minimal SysV shared-memory client for IPC-namespace tests.
 *
 * Containers of a Pod share the sandbox's IPC namespace, so a segment
 * created in one must be visible in another, and invisible from outside
 * the Pod.  busybox has no ipcmk/ipcs, hence this helper.
 *
 *   shmtool set KEY TEXT   create (or reuse) segment KEY, store TEXT
 *   shmtool get KEY        print the text stored in segment KEY
 *
 * Exit status: 0 ok, 1 failure (e.g. no such segment), 2 usage error.
 *
 * Build: gcc -static -Os -s -o shmtool shmtool.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define SEG_SIZE 4096

static int usage(void)
{
	fprintf(stderr, "usage: shmtool set KEY TEXT\n"
			"       shmtool get KEY\n");
	return 2;
}

/*
 * Key 0 is IPC_PRIVATE, which would silently create a fresh anonymous
 * segment on every call instead of naming a shared one, so it is refused.
 */
static int parse_key(const char *s, key_t *key)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 ||
	    v < INT_MIN || v > INT_MAX)
		return -1;
	*key = (key_t)v;
	return 0;
}

static int do_set(const char *keystr, key_t key, const char *text)
{
	char *mem;
	int id;

	id = shmget(key, SEG_SIZE, IPC_CREAT | 0666);
	if (id < 0) {
		fprintf(stderr, "shmtool: shmget %s: %s\n", keystr, strerror(errno));
		return 1;
	}
	mem = shmat(id, NULL, 0);
	if (mem == (void *)-1) {
		fprintf(stderr, "shmtool: shmat %s: %s\n", keystr, strerror(errno));
		return 1;
	}
	/* Always NUL-terminate so "get" never reads past the text. */
	strncpy(mem, text, SEG_SIZE - 1);
	mem[SEG_SIZE - 1] = '\0';
	shmdt(mem);
	return 0;
}

static int do_get(const char *keystr, key_t key)
{
	struct shmid_ds ds;
	const char *mem;
	size_t size;
	int id;

	/* No IPC_CREAT: looking must never create what we are testing for. */
	id = shmget(key, 0, 0);
	if (id < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "shmtool: no segment %s\n", keystr);
		else
			fprintf(stderr, "shmtool: shmget %s: %s\n", keystr, strerror(errno));
		return 1;
	}
	/* Segments made by other tools may be smaller than ours. */
	size = SEG_SIZE;
	if (shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_segsz < size)
		size = ds.shm_segsz;
	mem = shmat(id, NULL, SHM_RDONLY);
	if (mem == (void *)-1) {
		fprintf(stderr, "shmtool: shmat %s: %s\n", keystr, strerror(errno));
		return 1;
	}
	/* ...and need not be NUL-terminated. */
	printf("%.*s\n", (int)strnlen(mem, size), mem);
	shmdt(mem);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	key_t key;

	if (argc < 3 || parse_key(argv[2], &key) < 0)
		return usage();
	if (strcmp(argv[1], "set") == 0 && argc == 4)
		return do_set(argv[2], key, argv[3]);
	if (strcmp(argv[1], "get") == 0 && argc == 3)
		return do_get(argv[2], key);
	return usage();
}
