# Dependencies point one way: a file of the replication layer (bft/) includes only bft/ and codec/
# headers, never the tuple space, the server, the client, policies or configuration files. The
# simulator (bft/sim) still runs the tuple-space application and is left out until it moves
# above both (issue 12). Run as `cmake -DROOT=<source dir> -P layering.cmake`.
file(GLOB_RECURSE files RELATIVE ${ROOT} ${ROOT}/bft/*.h ${ROOT}/bft/*.cc)
set(upward "")
set(checked 0)
foreach(f ${files})
  if(f MATCHES "^bft/sim/")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS ${ROOT}/${f} includes REGEX "^#include \"")
  foreach(line ${includes})
    if(NOT line MATCHES "^#include \"(bft|codec)/")
      list(APPEND upward "${f}: ${line}")
    endif()
  endforeach()
endforeach()
if(upward)
  list(JOIN upward "\n  " listing)
  message(FATAL_ERROR "bft/ includes from layers above it:\n  ${listing}")
endif()
message(STATUS "layering: ${checked} files of bft/ checked")
