#ifndef ANALYTICS_CEPOLL_H
#define ANALYTICS_CEPOLL_H
// epoll for ws-load's counting connections, which Swift's Glibc module does not import. Plain
// types only: including <sys/epoll.h> here would claim glibc's types for this module.

/// An epoll set (close-on-exec), or -1.
int cepoll_create(void);
/// Watches `fd` for input and peer shutdown.
int cepoll_add(int epoll, int fd);
int cepoll_remove(int epoll, int fd);
/// Waits up to `timeout_ms` and writes the ready descriptors to `fds`; their count, or -1.
int cepoll_wait(int epoll, int *fds, int capacity, int timeout_ms);
#endif
