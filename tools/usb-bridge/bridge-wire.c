/*
 * The client end of the simulator's USB wire protocol (docs/simulator.md, "USB over TCP"):
 * one TCP connection per simulator, requests and answers as length-prefixed little-endian
 * frames, one request in flight at a time.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge.h"

int bridge_connect(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		/* MSG_NOSIGNAL: a simulator that went away is an error code, not SIGPIPE. */
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

void put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, v & 0xffff);
	put_u16(p + 2, v >> 16);
}

uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t get_u32(const uint8_t *p)
{
	return get_u16(p) | ((uint32_t)get_u16(p + 2) << 16);
}

/*
 * Sends one request (opcode, then `len` bytes of `body`) and reads the answer: a signed
 * 32-bit result and a payload, returned in *payload (malloc'd, caller frees) and *payload_len.
 * Returns the result, or BRIDGE_LOST when the connection failed.
 */
int bridge_call(int fd, uint8_t op, const uint8_t *body, size_t len, uint8_t **payload,
		size_t *payload_len)
{
	uint8_t head[5];
	uint8_t answer_head[8];
	uint32_t answer_len;
	uint8_t *data = NULL;

	if (payload)
		*payload = NULL;
	if (payload_len)
		*payload_len = 0;
	if (fd < 0)
		return BRIDGE_LOST;
	put_u32(head, (uint32_t)(len + 1));
	head[4] = op;
	if (write_all(fd, head, sizeof(head)) || (len && write_all(fd, body, len)))
		return BRIDGE_LOST;
	if (read_all(fd, answer_head, sizeof(answer_head)))
		return BRIDGE_LOST;
	answer_len = get_u32(answer_head);
	if (answer_len < 4 || answer_len > (1u << 24))
		return BRIDGE_LOST;
	answer_len -= 4;
	if (answer_len) {
		data = malloc(answer_len);
		if (!data || read_all(fd, data, answer_len)) {
			free(data);
			return BRIDGE_LOST;
		}
	}
	if (payload) {
		*payload = data;
		*payload_len = answer_len;
	} else {
		free(data);
	}
	return (int32_t)get_u32(answer_head + 4);
}
