// Process limits a tunnel endpoint needs.
#pragma once

namespace quictun::app {

// Every tunnel holds a socket: raise the soft open-file limit to the hard limit, so a
// default ulimit of 1024 does not cap a client or server at a few hundred tunnels.
void raise_open_file_limit();

// Keeps freed memory in the process: tunnels allocate and free buffers at packet rate, and
// glibc's default heap trimming turned that into brk() calls and TLB flushes (a quarter of the
// receiver's CPU on a VM).
void tune_allocator();

}  // namespace quictun::app
