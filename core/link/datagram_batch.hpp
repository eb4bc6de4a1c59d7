// Datagrams built for one send burst, packed in one reusable byte buffer so that steady-state
// wrapping (ARQ) allocates nothing and runs of equal-sized datagrams can leave in one GSO call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace quictun::link {

class DatagramBatch {
 public:
  void clear() { bytes_.clear(); slices_.clear(); }  // keeps the capacity
  std::size_t size() const { return slices_.size(); }
  bool empty() const { return slices_.empty(); }
  std::span<const std::uint8_t> operator[](std::size_t i) const {
    return {bytes_.data() + slices_[i].offset, slices_[i].size};
  }

  // Room for one more datagram of `size` bytes; the pointer is valid until the next append.
  std::uint8_t* append(std::size_t size) {
    const std::size_t offset = bytes_.size();
    bytes_.resize(offset + size);
    slices_.push_back({offset, size});
    return bytes_.data() + offset;
  }

 private:
  struct Slice {
    std::size_t offset;  // into bytes_
    std::size_t size;    // in bytes
  };
  std::vector<std::uint8_t> bytes_;
  std::vector<Slice> slices_;
};

}  // namespace quictun::link
