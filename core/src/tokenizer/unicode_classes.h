// Unicode character classes (\p{L}, \p{N}, \s) for the byte-level pre-tokenizer regexes.
#pragma once

#include "tokenizer/utf8.h"

namespace dha::tok {

bool isUnicodeLetter(char32_t c);  // general category L*
bool isUnicodeNumber(char32_t c);  // general category N*

}  // namespace dha::tok
