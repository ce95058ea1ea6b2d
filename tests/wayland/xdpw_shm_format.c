/*
 * LD_PRELOAD shim for xdg-desktop-portal-wlr 0.7.0 (Debian 12) on a GPU-less sway.
 *
 * Why: xdpw 0.7.0 refuses to start a screen cast unless wlroots' screencopy
 * frame announced a dma-buf format as well as the shared-memory one
 * (start_screencast() in its screencast.c checks the dma-buf slot whenever its
 * portal protocol is >= 3; later versions fixed this). The pixman renderer of
 * a headless sway never offers dma-buf, so the portal answers Start with an
 * error and nothing can be shared.
 *
 * What: when xdpw registers its zwlr_screencopy_frame_v1 listener, we hand
 * libwayland a copy whose "buffer" handler calls xdpw's own "buffer" handler
 * and then its "linux_dmabuf" handler with the same size and the matching DRM
 * fourcc. xdpw then passes the check; because no dma-buf modifiers are
 * available it still offers PipeWire only the shared-memory format, so frames
 * really travel as shm. Nothing else is changed. Our own code; compiled by
 * the test (tests/support/wayland.py, build_shim) with gcc, no headers needed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

struct wl_proxy;
typedef void (*handler)(void);
const char *wl_proxy_get_class(struct wl_proxy *proxy);

/* Event order of zwlr_screencopy_frame_v1 (wlr-screencopy-unstable-v1, version 3). */
enum { BUFFER, FLAGS, READY, FAILED, DAMAGE, LINUX_DMABUF, BUFFER_DONE, EVENT_COUNT };

typedef void (*buffer_event)(void *, struct wl_proxy *, uint32_t, uint32_t, uint32_t, uint32_t);
typedef void (*dmabuf_event)(void *, struct wl_proxy *, uint32_t, uint32_t, uint32_t);

/* xdpw uses one static listener for every frame, so one saved copy is enough. */
static const handler *xdpw_listener;
static handler patched[EVENT_COUNT];

/* wl_shm formats equal DRM fourccs except the first two (wayland.xml). */
static uint32_t drm_fourcc(uint32_t shm_format) {
    if (shm_format == 0) return 0x34325241; /* ARGB8888 'AR24' */
    if (shm_format == 1) return 0x34325258; /* XRGB8888 'XR24' */
    return shm_format;
}

static void on_buffer(void *data, struct wl_proxy *frame, uint32_t format,
                      uint32_t width, uint32_t height, uint32_t stride) {
    ((buffer_event)xdpw_listener[BUFFER])(data, frame, format, width, height, stride);
    ((dmabuf_event)xdpw_listener[LINUX_DMABUF])(data, frame, drm_fourcc(format), width, height);
}

int wl_proxy_add_listener(struct wl_proxy *proxy, const handler *listener, void *data) {
    static int (*real_add)(struct wl_proxy *, const handler *, void *);
    if (!real_add)
        real_add = (int (*)(struct wl_proxy *, const handler *, void *))dlsym(RTLD_NEXT, "wl_proxy_add_listener");
    if (strcmp(wl_proxy_get_class(proxy), "zwlr_screencopy_frame_v1") == 0) {
        xdpw_listener = listener;
        memcpy(patched, listener, sizeof patched);
        patched[BUFFER] = (handler)on_buffer;
        listener = patched;
    }
    return real_add(proxy, listener, data);
}
