# Sourced by the other scripts: installs what is missing on a fresh Debian 12 machine.
# - the .NET SDK is expected on PATH (it is on this kind of machine);
# - Fashion-MNIST comes from Debian's `dataset-fashion-mnist` package;
# - MPI (for the multi-process tests and `mpiexec -n N denseflow train`) from Debian's `mpich` package;
# - tcmalloc (the malloc `denseflow` runs with, src/DenseFlow/Host/NativeAllocator.cs) from `libtcmalloc-minimal4`.
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "installing dataset-fashion-mnist (Debian package)..."
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist
fi
if ! command -v mpiexec >/dev/null; then
  echo "installing mpich (Debian package: mpiexec and libmpich.so.12)..."
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mpich
fi
if [ ! -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ] && [ ! -e /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 ]; then
  echo "installing libtcmalloc-minimal4 (Debian package: the faster malloc denseflow preloads)..."
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libtcmalloc-minimal4
fi
command -v dotnet >/dev/null || { echo "dotnet (the .NET 10 SDK) is required on PATH" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
