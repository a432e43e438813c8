// Package e2e holds the end-to-end tests of the bundled example networks:
// convert, export, and verify the generated C bit-exactly on the host and on
// emulated Cortex-M3 (C path) and Cortex-M4 (DSP path) cores.
package e2e
