/*
 * Parses a raw configuration descriptor (USB 2.0 §9.6.3, with its interface and endpoint
 * descriptors, §9.6.5–9.6.6) into libusb's structures, the way libusb's descriptor.c does:
 * alternate settings grouped by bInterfaceNumber, and every other descriptor kept in the
 * `extra` bytes of the configuration, interface or endpoint it follows (so a DFU functional
 * descriptor after an interface descriptor lands in that alternate setting's `extra`).
 */
#include <stdlib.h>
#include <string.h>

#include <libusb.h>

#include "bridge.h"

static int append_extra(const unsigned char **extra, int *extra_length, const uint8_t *p,
			int n)
{
	unsigned char *grown = realloc((void *)*extra, (size_t)(*extra_length + n));

	if (!grown)
		return -1;
	memcpy(grown + *extra_length, p, (size_t)n);
	*extra = grown;
	*extra_length += n;
	return 0;
}

void bridge_free_config(struct libusb_config_descriptor *cfg)
{
	int i, a, e;

	if (!cfg)
		return;
	for (i = 0; i < cfg->bNumInterfaces; i++) {
		struct libusb_interface *itf = (struct libusb_interface *)&cfg->interface[i];
		for (a = 0; a < itf->num_altsetting; a++) {
			struct libusb_interface_descriptor *alt =
				(struct libusb_interface_descriptor *)&itf->altsetting[a];
			for (e = 0; e < alt->bNumEndpoints; e++)
				free((void *)alt->endpoint[e].extra);
			free((void *)alt->endpoint);
			free((void *)alt->extra);
		}
		free((void *)itf->altsetting);
	}
	free((void *)cfg->interface);
	free((void *)cfg->extra);
	free(cfg);
}

/* Returns 0 and *out, or LIBUSB_ERROR_IO for a malformed descriptor. */
int bridge_parse_config(const uint8_t *raw, int len, struct libusb_config_descriptor **out)
{
	struct libusb_config_descriptor *cfg;
	struct libusb_interface *ifaces = NULL;
	struct libusb_interface_descriptor *alt = NULL;
	struct libusb_endpoint_descriptor *ep = NULL;
	int p;

	if (len < 9 || raw[1] != LIBUSB_DT_CONFIG)
		return LIBUSB_ERROR_IO;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return LIBUSB_ERROR_NO_MEM;
	cfg->bLength = raw[0];
	cfg->bDescriptorType = raw[1];
	cfg->wTotalLength = get_u16(raw + 2);
	cfg->bConfigurationValue = raw[5];
	cfg->iConfiguration = raw[6];
	cfg->bmAttributes = raw[7];
	cfg->MaxPower = raw[8];
	cfg->bNumInterfaces = 0;

	for (p = raw[0]; p + 2 <= len; p += raw[p]) {
		const uint8_t *d = raw + p;
		int dlen = d[0];

		if (dlen < 2 || p + dlen > len)
			goto bad;
		if (d[1] == LIBUSB_DT_INTERFACE && dlen >= 9) {
			struct libusb_interface *itf = NULL;
			struct libusb_interface_descriptor *alts;
			int i;

			for (i = 0; i < cfg->bNumInterfaces; i++)
				if (ifaces[i].altsetting[0].bInterfaceNumber == d[2])
					itf = &ifaces[i];
			if (!itf) {
				struct libusb_interface *grown =
					realloc(ifaces, sizeof(*ifaces) * (cfg->bNumInterfaces + 1));
				if (!grown)
					goto bad;
				ifaces = grown;
				itf = &ifaces[cfg->bNumInterfaces++];
				memset(itf, 0, sizeof(*itf));
				cfg->interface = ifaces;
			}
			alts = realloc((void *)itf->altsetting,
				       sizeof(*alts) * (size_t)(itf->num_altsetting + 1));
			if (!alts)
				goto bad;
			itf->altsetting = alts;
			alt = &alts[itf->num_altsetting++];
			memset(alt, 0, sizeof(*alt));
			alt->bLength = d[0];
			alt->bDescriptorType = d[1];
			alt->bInterfaceNumber = d[2];
			alt->bAlternateSetting = d[3];
			alt->bNumEndpoints = 0;
			alt->bInterfaceClass = d[5];
			alt->bInterfaceSubClass = d[6];
			alt->bInterfaceProtocol = d[7];
			alt->iInterface = d[8];
			ep = NULL;
		} else if (d[1] == LIBUSB_DT_ENDPOINT && dlen >= 7 && alt) {
			struct libusb_endpoint_descriptor *eps =
				realloc((void *)alt->endpoint, sizeof(*eps) * (alt->bNumEndpoints + 1));
			if (!eps)
				goto bad;
			alt->endpoint = eps;
			ep = &eps[alt->bNumEndpoints++];
			memset(ep, 0, sizeof(*ep));
			ep->bLength = d[0];
			ep->bDescriptorType = d[1];
			ep->bEndpointAddress = d[2];
			ep->bmAttributes = d[3];
			ep->wMaxPacketSize = get_u16(d + 4);
			ep->bInterval = d[6];
		} else if (ep) {
			if (append_extra(&ep->extra, &ep->extra_length, d, dlen))
				goto bad;
		} else if (alt) {
			if (append_extra(&alt->extra, &alt->extra_length, d, dlen))
				goto bad;
		} else if (append_extra(&cfg->extra, &cfg->extra_length, d, dlen)) {
			goto bad;
		}
	}
	cfg->interface = ifaces;
	*out = cfg;
	return 0;
bad:
	cfg->interface = ifaces;
	bridge_free_config(cfg);
	return LIBUSB_ERROR_IO;
}
