package apiserver

import skiffadmission "github.com/skiff-dev/skiff/apiserver/admission"

// tolerationSeconds is a DefaultTolerationSeconds setting, 0 meaning upstream's 300 s.
func tolerationSeconds(s int64) int64 {
	if s == 0 {
		return skiffadmission.DefaultTolerationSeconds
	}
	return s
}
