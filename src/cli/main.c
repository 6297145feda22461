/* ebood command-line entry point: dispatches to the subcommands. */
#include <ebood/base.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("ebood %s\n", EB_VERSION_STRING);
        return 0;
    }
    fprintf(stderr, "usage: ebood <command> [options]\n");
    return 2;
}
