/* Shared by libusb-bridge.c and bridge-wire.c. */
#ifndef WEBFLASH_USB_BRIDGE_H
#define WEBFLASH_USB_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

/* Request opcodes of the wire protocol (docs/simulator.md, "USB over TCP"). */
enum bridge_op {
	OP_LIST = 1,
	OP_OPEN = 2,
	OP_CLOSE = 3,
	OP_CONTROL = 4,
	OP_SET_CONFIGURATION = 5,
	OP_GET_CONFIGURATION = 6,
	OP_CLAIM = 7,
	OP_RELEASE = 8,
	OP_SET_ALT = 9,
	OP_RESET = 10,
};

/* The connection to a simulator failed: reported to callers as LIBUSB_ERROR_NO_DEVICE/IO. */
#define BRIDGE_LOST (-1000)

/* Helpers stay out of the exported symbol table: only libusb_* names are interposed. */
#pragma GCC visibility push(hidden)

int bridge_connect(const char *host, const char *port);
int bridge_call(int fd, uint8_t op, const uint8_t *body, size_t len, uint8_t **payload,
		size_t *payload_len);
struct libusb_config_descriptor;
int bridge_parse_config(const uint8_t *raw, int len, struct libusb_config_descriptor **out);
void bridge_free_config(struct libusb_config_descriptor *cfg);

void put_u16(uint8_t *p, uint16_t v);
void put_u32(uint8_t *p, uint32_t v);
uint16_t get_u16(const uint8_t *p);
uint32_t get_u32(const uint8_t *p);

#pragma GCC visibility pop

#endif
