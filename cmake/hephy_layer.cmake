# hephy_layer(NAME SOURCES file.cc... LAYERS layer... LIBS target...)
#
# Declares daemon/NAME/ as the static library hephy_NAME. LAYERS names the
# folders its code may include (each a layer below it; see
# docs/architecture.md), LIBS the outside libraries. tests/layers_test.py
# fails when a file includes a folder its LAYERS leave out, or when LAYERS
# form a cycle, so the dependency direction written here is the one the
# code has.
function(hephy_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;LAYERS;LIBS")
  set(target hephy_${name})
  add_library(${target} STATIC ${ARG_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                              ${PROJECT_SOURCE_DIR}/daemon)
  target_compile_definitions(${target} PUBLIC HEPHY_VERSION="${PROJECT_VERSION}")
  list(TRANSFORM ARG_LAYERS PREPEND hephy_)
  target_link_libraries(${target} PUBLIC ${ARG_LAYERS} ${ARG_LIBS})
endfunction()
