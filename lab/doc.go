// Package lab holds the real-failure reproduction lab: scripts that start
// HAProxy, nginx and a small Go app on 127.0.0.0/8, reproduce each failure
// case with real software, and keep the resulting incident folders as
// fixtures under testdata/lab. See lab/README.md. The package itself has
// no API; its tests analyse the fixtures and, with POSTMORTEM_LAB=1, run
// the scenarios live.
package lab
