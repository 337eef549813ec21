# Dependencies point one way, checked on the #include lines of each layer's files:
#   - bft/ (the replication layer, its simulator included) includes only bft/ and codec/ headers,
#     never the tuple space, the server, the client, policies or configuration files; the
#     simulator's tuple-space applications live above both, in sim/;
#   - client/ (the library, the tool, the recipes) includes no engine, policy, server or replica
#     layer: of the tuple space only its wire types and text syntax (bastion_tuplespace_wire), of
#     confidentiality only what clients see.
# Run as `cmake -DROOT=<source dir> -P layering.cmake`.
set(violations "")
set(checked 0)

# check_layer(DIR ALLOWED_REGEX): every quoted include of DIR's files must match ALLOWED_REGEX.
function(check_layer dir allowed)
  file(GLOB_RECURSE files RELATIVE ${ROOT} ${ROOT}/${dir}/*.h ${ROOT}/${dir}/*.cc)
  foreach(f ${files})
    math(EXPR checked "${checked} + 1")
    file(STRINGS ${ROOT}/${f} includes REGEX "^#include \"")
    foreach(line ${includes})
      if(NOT line MATCHES "${allowed}")
        list(APPEND violations "${f}: ${line}")
      endif()
    endforeach()
  endforeach()
  set(checked ${checked} PARENT_SCOPE)
  set(violations ${violations} PARENT_SCOPE)
endfunction()

check_layer(bft "^#include \"(bft|codec)/")
check_layer(client
  "^#include \"(client|bft/core|bft/net|codec|config|tuplespace/(value|ops|text|error)\\.h|confidentiality/(envelope|reply|pvss|fingerprint|seal|group|dleq)\\.h)")

if(violations)
  list(JOIN violations "\n  " listing)
  message(FATAL_ERROR "includes from layers above:\n  ${listing}")
endif()
message(STATUS "layering: ${checked} files checked")
