module github.com/ishidawataru/sctp

go 1.26.0
