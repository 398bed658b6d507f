// Package armsecurity013 tests Sluice's automations API with the real
// armsecurity v0.13.0 client, which speaks api-version 2019-01-01-preview
// (as Terraform and the built-in policies do).
//
// It is a module of its own because the main module requires armsecurity
// v0.15.0, and minimal version selection would pick that version for any
// module that requires Sluice. The test therefore builds cmd/sluice from
// the parent module and drives a `sluice serve` subprocess over HTTPS,
// with a token from `sluice token`.
package armsecurity013
