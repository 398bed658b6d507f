// Package meta holds tests about the code base itself: every package has a
// doc comment, and every non-public route declares a permission.
package meta
