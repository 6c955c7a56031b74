#include "llm/device_stream.h"

#ifdef VIGIL_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace vigil::llm {

#ifdef VIGIL_WITH_CUDA
struct DeviceStream::Impl {
  c10::cuda::CUDAStream stream;
};
struct DeviceStream::Guard::Impl {
  c10::cuda::CUDAStreamGuard guard;
};

DeviceStream::DeviceStream(torch::Device device) {
  if (device.is_cuda()) {
    impl_.reset(new Impl{c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())});
  }
}

DeviceStream::Guard::Guard(const DeviceStream& stream) {
  if (stream.impl_) impl_.reset(new Impl{c10::cuda::CUDAStreamGuard(stream.impl_->stream)});
}

void synchronize_current_stream(torch::Device device) {
  if (device.is_cuda()) c10::cuda::getCurrentCUDAStream(device.index()).synchronize();
}
#else
struct DeviceStream::Impl {};
struct DeviceStream::Guard::Impl {};

DeviceStream::DeviceStream(torch::Device) {}

DeviceStream::Guard::Guard(const DeviceStream&) {}

void synchronize_current_stream(torch::Device) {}
#endif

DeviceStream::~DeviceStream() = default;
DeviceStream::Guard::~Guard() = default;

}  // namespace vigil::llm
