// `bastion`: the command-line client of a Bastion cluster. See docs/cli.md.
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/cli.h"
#include "client/cli/shell.h"

int main(int argc, char** argv) {
  using namespace bastion::cli;
  std::ios::sync_with_stdio(true);
  const std::vector<std::string> args(argv + 1, argv + argc);
  Services services;
  services.env = environment_from_process();
  services.connect = client_factory();
  services.shell = [&services](const GlobalOptions& global) {
    return run_shell(global, services.connect, services.env);
  };
  const int code = run(args, services, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
