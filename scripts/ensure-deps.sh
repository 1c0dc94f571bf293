# Sourced by the other scripts: installs what is missing on a fresh Debian 12 machine.
# - the .NET SDK is expected on PATH (it is on this kind of machine);
# - Fashion-MNIST comes from Debian's `dataset-fashion-mnist` package;
# - MPI (for the multi-process tests and `mpiexec -n N denseflow train`) from Debian's `mpich` package;
# - tcmalloc (the malloc `denseflow` runs with, src/DenseFlow/Host/NativeAllocator.cs) from `libtcmalloc-minimal4`.
# apt_install MESSAGE PACKAGE: installs one Debian package (with sudo when not root).
apt_install() {
  echo "installing $2 ($1)..."
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2"
}
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || apt_install "Debian package" dataset-fashion-mnist
command -v mpiexec >/dev/null || apt_install "Debian package: mpiexec and libmpich.so.12" mpich
[ -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ] || [ -e /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 ] \
  || apt_install "Debian package: the faster malloc denseflow preloads" libtcmalloc-minimal4
command -v dotnet >/dev/null || { echo "dotnet (the .NET 10 SDK) is required on PATH" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
