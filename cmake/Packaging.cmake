# `cpack -G DEB --config build/CPackConfig.cmake`: a kiln .deb of what
# `cmake --install` lays out (kilnc, kiln-opt, the standard library, the CMake
# package), under /usr. Its dependencies are the Debian packages an installed
# Kiln needs: kilnc's LLVM and MLIR, and for the programs linking generated
# libraries oneDNN's development files (find_package(Kiln) finds dnnl's CMake
# config, whose OpenCL part needs the headers and loader) and GNU OpenMP.
# test/package/run.sh builds it and runs the consumer project against it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kiln)
set(CPACK_PACKAGE_VENDOR "The Kiln developers")
set(CPACK_PACKAGE_CONTACT "The Kiln developers <kiln@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "ahead-of-time compiler for deep-learning models to static C libraries")
set(CPACK_PACKAGE_DESCRIPTION
    "kilnc compiles a model written in the Kiln language into libNAME.a and NAME.h: inference\n"
    "and training entries a C or C++ program calls. find_package(Kiln) and kiln_add_model()\n"
    "drive it from CMake.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libmlir-22, libllvm22, libdnnl-dev, opencl-c-headers, ocl-icd-opencl-dev, libgomp1, libstdc++6, libgcc-s1, libc6")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake, pkgconf, clang-22 | gcc")
include(CPack)
