/*
 * A stand-in for libusb-1.0, loaded with LD_PRELOAD, that answers a program's libusb calls
 * from simulated USB devices served by `npm run sim -- --usb-listen HOST:PORT`
 * (src/sim/node/usb-server.ts). WEBFLASH_USB_SIM lists the simulators, "HOST:PORT[,HOST:PORT…]";
 * each one is a bus (bus number = position + 1) with its devices on port 1.
 *
 * Covers the synchronous API that dfu-util 0.11 uses (`nm -D /usr/bin/dfu-util | grep libusb`)
 * and the usual neighbours: context, device list, descriptors, open/close, claim/release,
 * alternate settings, control transfers, reset, configuration, kernel-driver no-ops, error
 * names (bridge-misc.c). Bulk and interrupt transfers answer LIBUSB_ERROR_NOT_SUPPORTED;
 * asynchronous transfers and hotplug are not provided.
 * Single-threaded, as the programs it serves are.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libusb.h>

#include "bridge.h"

#define MAX_SERVERS 8

struct libusb_context {
	int fds[MAX_SERVERS];
	int servers;
	/* Devices still referenced: a device list returns the same object for the same device,
	 * as libusb does. */
	struct libusb_device *known;
};

struct libusb_device {
	struct libusb_context *ctx;
	int refcnt;
	int server;
	uint32_t id;
	uint8_t address;
	uint8_t port;
	uint8_t desc[18];
	uint8_t *config;
	int config_len;
	struct libusb_device *next_known;
};

struct libusb_device_handle {
	struct libusb_device *dev;
};

static struct libusb_context *default_ctx;
static int default_refs;

static struct libusb_context *ctx_of(struct libusb_context *ctx)
{
	return ctx ? ctx : default_ctx;
}

static struct libusb_context *connect_all(void)
{
	const char *spec = getenv("WEBFLASH_USB_SIM");
	struct libusb_context *ctx;
	char *copy, *item, *save = NULL;

	if (!spec || !*spec) {
		fprintf(stderr, "libusb-bridge: WEBFLASH_USB_SIM is not set (HOST:PORT of the "
				"simulator's --usb-listen)\n");
		return NULL;
	}
	ctx = calloc(1, sizeof(*ctx));
	copy = strdup(spec);
	if (!ctx || !copy) {
		free(ctx);
		free(copy);
		return NULL;
	}
	for (item = strtok_r(copy, ",", &save); item && ctx->servers < MAX_SERVERS;
	     item = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(item, ':');
		int fd;
		if (!colon) {
			fprintf(stderr, "libusb-bridge: expected HOST:PORT, got \"%s\"\n", item);
			goto fail;
		}
		*colon = '\0';
		fd = bridge_connect(item, colon + 1);
		if (fd < 0) {
			fprintf(stderr, "libusb-bridge: cannot connect to %s:%s\n", item, colon + 1);
			goto fail;
		}
		ctx->fds[ctx->servers++] = fd;
	}
	free(copy);
	return ctx;
fail:
	while (ctx->servers > 0)
		close(ctx->fds[--ctx->servers]);
	free(copy);
	free(ctx);
	return NULL;
}

int LIBUSB_CALL libusb_init(libusb_context **out)
{
	struct libusb_context *ctx;

	if (!out && default_ctx) {
		default_refs++;
		return 0;
	}
	ctx = connect_all();
	if (!ctx)
		return LIBUSB_ERROR_IO;
	if (out) {
		*out = ctx;
	} else {
		default_ctx = ctx;
		default_refs = 1;
	}
	return 0;
}

void LIBUSB_CALL libusb_exit(libusb_context *ctx)
{
	int i;

	if (!ctx) {
		if (!default_ctx || --default_refs > 0)
			return;
		ctx = default_ctx;
		default_ctx = NULL;
	}
	for (i = 0; i < ctx->servers; i++)
		close(ctx->fds[i]);
	free(ctx);
}

int LIBUSB_CALL libusb_set_option(libusb_context *ctx, enum libusb_option option, ...)
{
	(void)ctx;
	(void)option;
	return 0;
}

void LIBUSB_CALL libusb_set_debug(libusb_context *ctx, int level)
{
	(void)ctx;
	(void)level;
}

const struct libusb_version *LIBUSB_CALL libusb_get_version(void)
{
	static const struct libusb_version version = { 1, 0, 26, 0, "", "webflash usb-bridge" };
	return &version;
}

int LIBUSB_CALL libusb_has_capability(uint32_t capability)
{
	return capability == LIBUSB_CAP_HAS_CAPABILITY;
}

/* ---- devices ---------------------------------------------------------------------------- */

libusb_device *LIBUSB_CALL libusb_ref_device(libusb_device *dev)
{
	dev->refcnt++;
	return dev;
}

void LIBUSB_CALL libusb_unref_device(libusb_device *dev)
{
	libusb_device **p;

	if (!dev || --dev->refcnt > 0)
		return;
	for (p = &dev->ctx->known; *p; p = &(*p)->next_known) {
		if (*p == dev) {
			*p = dev->next_known;
			break;
		}
	}
	free(dev->config);
	free(dev);
}

static libusb_device *known_device(struct libusb_context *ctx, int server, uint32_t id)
{
	libusb_device *d;

	for (d = ctx->known; d; d = d->next_known)
		if (d->server == server && d->id == id)
			return libusb_ref_device(d);
	return NULL;
}

/* LIST answer, per device: u32 id, u8 address, u8 port, 18-byte device descriptor,
 * u16 length and the bytes of the configuration descriptor. */
ssize_t LIBUSB_CALL libusb_get_device_list(libusb_context *ctx, libusb_device ***list)
{
	libusb_device **devs = calloc(1, sizeof(*devs));
	size_t count = 0;
	int s;

	ctx = ctx_of(ctx);
	if (!ctx || !devs) {
		free(devs);
		return LIBUSB_ERROR_NO_MEM;
	}
	for (s = 0; s < ctx->servers; s++) {
		uint8_t *payload;
		size_t len, at = 0;
		int n = bridge_call(ctx->fds[s], OP_LIST, NULL, 0, &payload, &len);
		int i;
		for (i = 0; i < n; i++) {
			libusb_device *dev, **grown;
			uint16_t cfg_len;
			if (at + 26 > len)
				break;
			cfg_len = get_u16(payload + at + 24);
			if (at + 26 + cfg_len > len)
				break;
			grown = realloc(devs, sizeof(*devs) * (count + 2));
			if (!grown)
				break;
			devs = grown;
			dev = known_device(ctx, s, get_u32(payload + at));
			if (!dev) {
				dev = calloc(1, sizeof(*dev));
				if (!dev)
					break;
				dev->ctx = ctx;
				dev->refcnt = 1;
				dev->server = s;
				dev->id = get_u32(payload + at);
				dev->address = payload[at + 4];
				dev->port = payload[at + 5];
				memcpy(dev->desc, payload + at + 6, 18);
				dev->config = malloc(cfg_len ? cfg_len : 1);
				if (dev->config)
					memcpy(dev->config, payload + at + 26, cfg_len);
				dev->config_len = dev->config ? cfg_len : 0;
				dev->next_known = ctx->known;
				ctx->known = dev;
			}
			devs[count++] = dev;
			at += 26 + cfg_len;
		}
		free(payload);
	}
	devs[count] = NULL;
	*list = devs;
	return (ssize_t)count;
}

void LIBUSB_CALL libusb_free_device_list(libusb_device **list, int unref_devices)
{
	libusb_device **p;

	if (!list)
		return;
	if (unref_devices)
		for (p = list; *p; p++)
			libusb_unref_device(*p);
	free(list);
}

uint8_t LIBUSB_CALL libusb_get_bus_number(libusb_device *dev)
{
	return (uint8_t)(dev->server + 1);
}

uint8_t LIBUSB_CALL libusb_get_device_address(libusb_device *dev)
{
	return dev->address;
}

uint8_t LIBUSB_CALL libusb_get_port_number(libusb_device *dev)
{
	return dev->port;
}

int LIBUSB_CALL libusb_get_port_numbers(libusb_device *dev, uint8_t *ports, int len)
{
	if (len < 1)
		return LIBUSB_ERROR_OVERFLOW;
	ports[0] = dev->port;
	return 1;
}

libusb_device *LIBUSB_CALL libusb_get_parent(libusb_device *dev)
{
	(void)dev;
	return NULL;
}

int LIBUSB_CALL libusb_get_device_speed(libusb_device *dev)
{
	(void)dev;
	return LIBUSB_SPEED_FULL;
}

int LIBUSB_CALL libusb_get_device_descriptor(libusb_device *dev,
					     struct libusb_device_descriptor *d)
{
	const uint8_t *r = dev->desc;

	d->bLength = r[0];
	d->bDescriptorType = r[1];
	d->bcdUSB = get_u16(r + 2);
	d->bDeviceClass = r[4];
	d->bDeviceSubClass = r[5];
	d->bDeviceProtocol = r[6];
	d->bMaxPacketSize0 = r[7];
	d->idVendor = get_u16(r + 8);
	d->idProduct = get_u16(r + 10);
	d->bcdDevice = get_u16(r + 12);
	d->iManufacturer = r[14];
	d->iProduct = r[15];
	d->iSerialNumber = r[16];
	d->bNumConfigurations = r[17];
	return 0;
}

int LIBUSB_CALL libusb_get_config_descriptor(libusb_device *dev, uint8_t index,
					     struct libusb_config_descriptor **config)
{
	if (index != 0 || dev->config_len == 0)
		return LIBUSB_ERROR_NOT_FOUND;
	return bridge_parse_config(dev->config, dev->config_len, config);
}

int LIBUSB_CALL libusb_get_active_config_descriptor(libusb_device *dev,
						    struct libusb_config_descriptor **config)
{
	return libusb_get_config_descriptor(dev, 0, config);
}

int LIBUSB_CALL libusb_get_config_descriptor_by_value(libusb_device *dev, uint8_t value,
						      struct libusb_config_descriptor **config)
{
	if (dev->config_len < 6 || dev->config[5] != value)
		return LIBUSB_ERROR_NOT_FOUND;
	return libusb_get_config_descriptor(dev, 0, config);
}

void LIBUSB_CALL libusb_free_config_descriptor(struct libusb_config_descriptor *config)
{
	bridge_free_config(config);
}

/* ---- handles ---------------------------------------------------------------------------- */

/* A request about one device: u32 id, then `extra` bytes. */
static int device_call(libusb_device *dev, uint8_t op, const uint8_t *extra, size_t n,
		       uint8_t **payload, size_t *payload_len)
{
	uint8_t body[64];
	int r;

	if (n + 4 > sizeof(body))
		return LIBUSB_ERROR_INVALID_PARAM;
	put_u32(body, dev->id);
	if (n)
		memcpy(body + 4, extra, n);
	r = bridge_call(dev->ctx->fds[dev->server], op, body, n + 4, payload, payload_len);
	return r == BRIDGE_LOST ? LIBUSB_ERROR_NO_DEVICE : r;
}

int LIBUSB_CALL libusb_open(libusb_device *dev, libusb_device_handle **out)
{
	libusb_device_handle *h;
	int r = device_call(dev, OP_OPEN, NULL, 0, NULL, NULL);

	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return LIBUSB_ERROR_NO_MEM;
	h->dev = libusb_ref_device(dev);
	*out = h;
	return 0;
}

void LIBUSB_CALL libusb_close(libusb_device_handle *h)
{
	if (!h)
		return;
	device_call(h->dev, OP_CLOSE, NULL, 0, NULL, NULL);
	libusb_unref_device(h->dev);
	free(h);
}

libusb_device *LIBUSB_CALL libusb_get_device(libusb_device_handle *h)
{
	return h->dev;
}

int LIBUSB_CALL libusb_get_configuration(libusb_device_handle *h, int *config)
{
	int r = device_call(h->dev, OP_GET_CONFIGURATION, NULL, 0, NULL, NULL);

	if (r < 0)
		return r;
	*config = r;
	return 0;
}

int LIBUSB_CALL libusb_set_configuration(libusb_device_handle *h, int config)
{
	uint8_t b[4];

	put_u32(b, (uint32_t)config);
	return device_call(h->dev, OP_SET_CONFIGURATION, b, 4, NULL, NULL);
}

int LIBUSB_CALL libusb_claim_interface(libusb_device_handle *h, int iface)
{
	uint8_t b[1] = { (uint8_t)iface };
	return device_call(h->dev, OP_CLAIM, b, 1, NULL, NULL);
}

int LIBUSB_CALL libusb_release_interface(libusb_device_handle *h, int iface)
{
	uint8_t b[1] = { (uint8_t)iface };
	return device_call(h->dev, OP_RELEASE, b, 1, NULL, NULL);
}

int LIBUSB_CALL libusb_set_interface_alt_setting(libusb_device_handle *h, int iface, int alt)
{
	uint8_t b[2] = { (uint8_t)iface, (uint8_t)alt };
	return device_call(h->dev, OP_SET_ALT, b, 2, NULL, NULL);
}

int LIBUSB_CALL libusb_reset_device(libusb_device_handle *h)
{
	return device_call(h->dev, OP_RESET, NULL, 0, NULL, NULL);
}

int LIBUSB_CALL libusb_clear_halt(libusb_device_handle *h, unsigned char endpoint)
{
	(void)h;
	(void)endpoint;
	return LIBUSB_ERROR_NOT_SUPPORTED;
}

/* CONTROL request: u32 id, setup packet (8 bytes, USB 2.0 §9.3), u32 timeout, OUT data. */
int LIBUSB_CALL libusb_control_transfer(libusb_device_handle *h, uint8_t request_type,
					uint8_t request, uint16_t value, uint16_t index,
					unsigned char *data, uint16_t length, unsigned int timeout)
{
	int out = !(request_type & LIBUSB_ENDPOINT_IN);
	size_t n = 4 + 8 + 4 + (out ? length : 0);
	uint8_t *body = malloc(n);
	uint8_t *payload;
	size_t payload_len;
	int r;

	if (!body)
		return LIBUSB_ERROR_NO_MEM;
	put_u32(body, h->dev->id);
	body[4] = request_type;
	body[5] = request;
	put_u16(body + 6, value);
	put_u16(body + 8, index);
	put_u16(body + 10, length);
	put_u32(body + 12, timeout);
	if (out && length)
		memcpy(body + 16, data, length);
	r = bridge_call(h->dev->ctx->fds[h->dev->server], OP_CONTROL, body, n, &payload,
			&payload_len);
	free(body);
	if (r == BRIDGE_LOST) {
		free(payload);
		return LIBUSB_ERROR_NO_DEVICE;
	}
	if (r >= 0 && !out) {
		if (payload_len > length)
			payload_len = length;
		if (payload_len)
			memcpy(data, payload, payload_len);
		r = (int)payload_len;
	}
	free(payload);
	return r;
}
