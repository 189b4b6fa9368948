/*
 * The parts of the libusb-1.0 stand-in (libusb-bridge.c) that need no simulator: kernel-driver
 * calls (a simulated device has no kernel driver bound), transfer types the bridge does not
 * carry, helpers built on the rest of the API (open by ids, string descriptors as ASCII), and
 * libusb's error names and messages (libusb.h `enum libusb_error`).
 */
#include <libusb.h>

/* The first device with these ids, opened (libusb core.c). */
libusb_device_handle *LIBUSB_CALL libusb_open_device_with_vid_pid(libusb_context *ctx,
								 uint16_t vid, uint16_t pid)
{
	libusb_device **list;
	libusb_device_handle *h = NULL;
	ssize_t n = libusb_get_device_list(ctx, &list), i;

	for (i = 0; i < n && !h; i++) {
		struct libusb_device_descriptor d;
		libusb_get_device_descriptor(list[i], &d);
		if (d.idVendor == vid && d.idProduct == pid && libusb_open(list[i], &h) != 0)
			h = NULL;
	}
	if (n >= 0)
		libusb_free_device_list(list, 1);
	return h;
}

/* As libusb's descriptor.c: the first language, UTF-16LE to ASCII, '?' for the rest. */
int LIBUSB_CALL libusb_get_string_descriptor_ascii(libusb_device_handle *h, uint8_t index,
						   unsigned char *data, int length)
{
	unsigned char buf[255];
	int r, di, si;
	uint16_t langid;

	if (index == 0 || length < 1)
		return LIBUSB_ERROR_INVALID_PARAM;
	r = libusb_get_string_descriptor(h, 0, 0, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (r < 4)
		return LIBUSB_ERROR_IO;
	langid = (uint16_t)(buf[2] | (buf[3] << 8));
	r = libusb_get_string_descriptor(h, index, langid, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (buf[1] != LIBUSB_DT_STRING || buf[0] > r)
		return LIBUSB_ERROR_IO;
	for (di = 0, si = 2; si + 1 < buf[0] && di < length - 1; si += 2)
		data[di++] = buf[si + 1] ? '?' : buf[si];
	data[di] = 0;
	return di;
}

/* ---- kernel drivers: there are none to detach ------------------------------------------- */

int LIBUSB_CALL libusb_kernel_driver_active(libusb_device_handle *h, int iface)
{
	(void)h;
	(void)iface;
	return 0;
}

int LIBUSB_CALL libusb_detach_kernel_driver(libusb_device_handle *h, int iface)
{
	(void)h;
	(void)iface;
	return LIBUSB_ERROR_NOT_FOUND;
}

int LIBUSB_CALL libusb_attach_kernel_driver(libusb_device_handle *h, int iface)
{
	(void)h;
	(void)iface;
	return LIBUSB_ERROR_NOT_FOUND;
}

int LIBUSB_CALL libusb_set_auto_detach_kernel_driver(libusb_device_handle *h, int enable)
{
	(void)h;
	(void)enable;
	return 0;
}

/* ---- transfers this bridge does not carry ----------------------------------------------- */

int LIBUSB_CALL libusb_bulk_transfer(libusb_device_handle *h, unsigned char endpoint,
				     unsigned char *data, int length, int *transferred,
				     unsigned int timeout)
{
	(void)h, (void)endpoint, (void)data, (void)length, (void)timeout;
	if (transferred)
		*transferred = 0;
	return LIBUSB_ERROR_NOT_SUPPORTED;
}

int LIBUSB_CALL libusb_interrupt_transfer(libusb_device_handle *h, unsigned char endpoint,
					  unsigned char *data, int length, int *transferred,
					  unsigned int timeout)
{
	return libusb_bulk_transfer(h, endpoint, data, length, transferred, timeout);
}

/* ---- errors ----------------------------------------------------------------------------- */

const char *LIBUSB_CALL libusb_error_name(int code)
{
	switch (code) {
	case LIBUSB_SUCCESS: return "LIBUSB_SUCCESS";
	case LIBUSB_ERROR_IO: return "LIBUSB_ERROR_IO";
	case LIBUSB_ERROR_INVALID_PARAM: return "LIBUSB_ERROR_INVALID_PARAM";
	case LIBUSB_ERROR_ACCESS: return "LIBUSB_ERROR_ACCESS";
	case LIBUSB_ERROR_NO_DEVICE: return "LIBUSB_ERROR_NO_DEVICE";
	case LIBUSB_ERROR_NOT_FOUND: return "LIBUSB_ERROR_NOT_FOUND";
	case LIBUSB_ERROR_BUSY: return "LIBUSB_ERROR_BUSY";
	case LIBUSB_ERROR_TIMEOUT: return "LIBUSB_ERROR_TIMEOUT";
	case LIBUSB_ERROR_OVERFLOW: return "LIBUSB_ERROR_OVERFLOW";
	case LIBUSB_ERROR_PIPE: return "LIBUSB_ERROR_PIPE";
	case LIBUSB_ERROR_INTERRUPTED: return "LIBUSB_ERROR_INTERRUPTED";
	case LIBUSB_ERROR_NO_MEM: return "LIBUSB_ERROR_NO_MEM";
	case LIBUSB_ERROR_NOT_SUPPORTED: return "LIBUSB_ERROR_NOT_SUPPORTED";
	case LIBUSB_ERROR_OTHER: return "LIBUSB_ERROR_OTHER";
	default: return "**UNKNOWN**";
	}
}

const char *LIBUSB_CALL libusb_strerror(int code)
{
	switch (code) {
	case LIBUSB_SUCCESS: return "Success";
	case LIBUSB_ERROR_IO: return "Input/Output Error";
	case LIBUSB_ERROR_INVALID_PARAM: return "Invalid parameter";
	case LIBUSB_ERROR_ACCESS: return "Access denied (insufficient permissions)";
	case LIBUSB_ERROR_NO_DEVICE: return "No such device (it may have been disconnected)";
	case LIBUSB_ERROR_NOT_FOUND: return "Entity not found";
	case LIBUSB_ERROR_BUSY: return "Resource busy";
	case LIBUSB_ERROR_TIMEOUT: return "Operation timed out";
	case LIBUSB_ERROR_OVERFLOW: return "Overflow";
	case LIBUSB_ERROR_PIPE: return "Pipe error";
	case LIBUSB_ERROR_INTERRUPTED: return "System call interrupted (perhaps due to signal)";
	case LIBUSB_ERROR_NO_MEM: return "Insufficient memory";
	case LIBUSB_ERROR_NOT_SUPPORTED: return "Operation not supported or unimplemented on this platform";
	default: return "Other error";
	}
}
