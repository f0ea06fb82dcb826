#include "cronkit/cronkit.h"

int main(int argc, char** argv) {
  cronkit::Registry functions;  // the built-in functions are added by run()
  return cronkit::run(argc, argv, functions);
}
