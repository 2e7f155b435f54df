// Builds a PipelineTokenizer from a Hugging Face tokenizer.json, and finds its BOS/EOS tokens.
#include <system_error>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "tokenizer/json_model.h"
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/text_normalizers.h"
#include "tokenizer/token_decoders.h"
#include "tokenizer/tokenizer.h"

namespace dha::tok {
namespace {

constexpr size_t kMaxJsonFileBytes = 64u << 20;
constexpr size_t kMaxConfigFileBytes = 16u << 20;

struct SpecialIds {
    bool bosKnown = false;
    bool eosKnown = false;
    std::optional<int32_t> bos;
    std::optional<int32_t> eos;
};

// tokenizer_config.json's "bos_token"/"eos_token": a string, an AddedToken-like object, or null.
void readTokenizerConfig(const std::filesystem::path& configPath, const Vocabulary& vocab, SpecialIds& ids) {
    std::error_code error;
    if (!std::filesystem::exists(configPath, error)) return;
    const std::string path = configPath.string();
    const Json config = io::parseJsonStrict(io::readSmallFile(configPath, kMaxConfigFileBytes), path);
    const JsonFields fields(path);
    fields.object(config, "top level");
    const auto resolve = [&](const char* key, bool& known, std::optional<int32_t>& id) {
        const auto it = config.find(key);
        if (it == config.end()) return;
        known = true;
        if (it->is_null()) return;
        const std::string content =
            it->is_object() ? fields.stringMember(*it, "content", key) : fields.string(*it, key);
        id = vocab.find(content);
    };
    resolve("bos_token", ids.bosKnown, ids.bos);
    resolve("eos_token", ids.eosKnown, ids.eos);
}

// TemplateProcessing's "single" template: a special token before $A is the BOS, one after it the EOS.
void readPostProcessor(const Json& processor, const Vocabulary& vocab, SpecialIds& ids) {
    if (!processor.is_object()) return;
    const auto type = processor.find("type");
    if (type == processor.end() || !type->is_string()) return;
    if (*type == "Sequence") {
        const auto list = processor.find("processors");
        if (list != processor.end() && list->is_array()) {
            for (const Json& step : *list) readPostProcessor(step, vocab, ids);
        }
        return;
    }
    const auto single = processor.find("single");
    if (*type != "TemplateProcessing" || single == processor.end() || !single->is_array()) return;
    bool seenSequence = false;
    for (const Json& item : *single) {
        if (!item.is_object()) continue;
        if (item.contains("Sequence")) {
            seenSequence = true;
            continue;
        }
        const auto special = item.find("SpecialToken");
        if (special == item.end() || !special->is_object()) continue;
        const auto name = special->find("id");
        if (name == special->end() || !name->is_string()) continue;
        const auto id = vocab.find(name->get<std::string>());
        if (!seenSequence && !ids.bosKnown) {
            ids.bosKnown = true;
            ids.bos = id;
        } else if (seenSequence && !ids.eosKnown) {
            ids.eosKnown = true;
            ids.eos = id;
        }
    }
}

std::optional<int32_t> conventional(const Vocabulary& vocab, std::initializer_list<const char*> names) {
    for (const char* name : names) {
        if (const auto id = vocab.find(name)) return id;
    }
    return std::nullopt;
}

}  // namespace

std::unique_ptr<Tokenizer> loadTokenizerJson(const std::filesystem::path& tokenizerJsonPath) {
    const std::string path = tokenizerJsonPath.string();
    const Json root = io::parseJsonStrict(io::readSmallFile(tokenizerJsonPath, kMaxJsonFileBytes), path);
    const JsonFields fields(path);
    fields.object(root, "top level");

    std::vector<AddedToken> added = addedTokensFromJson(root, fields);
    JsonModel model = modelFromJson(root, added, fields);

    TokenizerParts parts;
    parts.vocabulary = model.vocabulary;
    parts.model = std::move(model.model);
    parts.addedTokens = AddedTokenMatcher(std::move(added));
    const Json null;
    const auto section = [&](const char* key) -> const Json& {
        const Json* value = fields.optionalMember(root, key);
        return value ? *value : null;
    };
    parts.normalizer = normalizerFromJson(section("normalizer"), fields, "normalizer");
    parts.preTokenizer = preTokenizerFromJson(section("pre_tokenizer"), fields, "pre_tokenizer");
    parts.decoder = std::make_unique<TokenChainDecoder>(
        model.vocabulary, decoderStepFromJson(section("decoder"), fields, "decoder"));

    const Vocabulary& vocab = *model.vocabulary;
    SpecialIds ids;
    readTokenizerConfig(tokenizerJsonPath.parent_path() / "tokenizer_config.json", vocab, ids);
    readPostProcessor(section("post_processor"), vocab, ids);
    parts.bosId = ids.bosKnown ? ids.bos : conventional(vocab, {"<s>", "<|begin_of_text|>"});
    parts.eosId = ids.eosKnown ? ids.eos : conventional(vocab, {"</s>", "<|end_of_text|>", "<|endoftext|>"});

    parts.description = "Hugging Face " + model.summary + ", " + std::to_string(vocab.size()) + " pieces (" +
                        tokenizerJsonPath.filename().string() + ")";
    return std::make_unique<PipelineTokenizer>(std::move(parts));
}

}  // namespace dha::tok
