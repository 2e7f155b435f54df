// SafetensorsCheckpoint: a model directory's weights, one file or shards named by an index.
#include <algorithm>

#include "dha/error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "io/safetensors.h"

namespace dha::io {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

bool isInside(const fs::path& child, const fs::path& parent) {
    auto childIt = child.begin();
    for (auto parentIt = parent.begin(); parentIt != parent.end(); ++parentIt, ++childIt) {
        if (parentIt->empty()) continue;  // trailing separator of the parent
        if (childIt == child.end() || *childIt != *parentIt) return false;
    }
    return true;
}

// A weight_map value is untrusted: it must name a file inside the model directory, also after symlinks.
fs::path resolveShard(const fs::path& dir, const fs::path& canonicalDir, const std::string& indexPath,
                      const std::string& shard, const std::string& tensor) {
    const std::string where =
        "weight_map entry '" + printableExcerpt(tensor) + "' -> '" + printableExcerpt(shard) + "'";
    if (shard.empty()) failInput(indexPath, where + ": empty file name");
    for (const char c : shard) {
        if (static_cast<unsigned char>(c) < 0x20)
            failInput(indexPath, where + ": control character in file name");
    }
    const fs::path relative(shard);
    if (relative.is_absolute())
        failInput(indexPath, where + ": absolute path, expected a file in the model directory");
    for (const auto& part : relative) {
        if (part == "..") failInput(indexPath, where + ": '..' leaves the model directory");
    }
    const fs::path full = (dir / relative).lexically_normal();
    std::error_code error;
    const auto status = fs::status(full, error);
    if (!fs::exists(status)) {
        failInput(indexPath, where + ": shard file " + full.string() + " does not exist",
                  "the download may be incomplete");
    }
    const fs::path canonical = fs::canonical(full, error);
    if (error || !isInside(canonical, canonicalDir)) {
        failInput(indexPath,
                  where + ": resolves to " + (error ? full.string() : canonical.string()) +
                      ", outside the model directory",
                  "symlinked shards (as in the Hugging Face cache) must be copied into a plain directory, "
                  "for example with cp -rL");
    }
    return canonical;
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open(const fs::path& modelDir) {
    SafetensorsCheckpoint checkpoint;
    checkpoint.m_dir = modelDir;
    std::error_code error;
    if (!fs::is_directory(modelDir, error)) failInput(modelDir.string(), "not a directory");

    const fs::path single = modelDir / kSingleFile;
    const fs::path indexPath = modelDir / kIndexFile;
    // transformers' order: the single file wins when both exist.
    if (fs::exists(single, error)) {
        auto file = SafetensorsFile::open(single);
        for (const auto& tensor : file->tensors())
            checkpoint.m_entries.emplace(tensor.name, Entry{file.get(), &tensor});
        checkpoint.m_files.push_back(std::move(file));
        return checkpoint;
    }
    if (!fs::exists(indexPath, error)) {
        const bool hasBin = fs::exists(modelDir / "pytorch_model.bin", error) ||
                            fs::exists(modelDir / "pytorch_model.bin.index.json", error);
        failInput(modelDir.string(), "no model.safetensors or model.safetensors.index.json",
                  hasBin ? "only PyTorch .bin weights are present; convert them to safetensors first" : "");
    }

    const std::string indexText = indexPath.string();
    const auto index = parseJsonStrict(readSmallFile(indexPath), indexText);
    if (!index.is_object()) {
        failInput(indexText, std::string("top level is ") + jsonTypeName(index) + ", expected a JSON object");
    }
    if (!index.contains("weight_map")) failInput(indexText, "has no weight_map");
    const auto& weightMap = index["weight_map"];
    if (!weightMap.is_object()) {
        failInput(indexText,
                  std::string("weight_map is ") + jsonTypeName(weightMap) + ", expected an object");
    }
    if (weightMap.empty()) failInput(indexText, "weight_map lists no tensors");

    const fs::path canonicalDir = fs::canonical(modelDir, error);
    if (error) fail(ErrorCode::Io, modelDir.string(), "cannot resolve the directory: " + error.message());
    // Keyed by resolved path: "x" and "./x" are one file, opened (and counted) once.
    std::map<fs::path, std::shared_ptr<SafetensorsFile>> shards;
    std::map<std::string, fs::path> resolved;  // weight_map spelling -> resolved path
    for (const auto& item : weightMap.items()) {
        if (!item.value().is_string()) {
            failInput(indexText, "weight_map entry '" + printableExcerpt(item.key()) + "' is " +
                                     jsonTypeName(item.value()) + ", expected a file name");
        }
        const auto& shard = item.value().get_ref<const std::string&>();
        auto known = resolved.find(shard);
        if (known == resolved.end()) {
            known =
                resolved.emplace(shard, resolveShard(modelDir, canonicalDir, indexText, shard, item.key()))
                    .first;
        }
        auto& slot = shards[known->second];
        if (!slot)
            slot = SafetensorsFile::open((modelDir / shard).lexically_normal());  // errors use its spelling
        const SafetensorsFile& file = *slot;
        const TensorInfo* tensor = file.find(item.key());
        if (tensor == nullptr) {
            failInput(indexText, "weight_map puts tensor '" + printableExcerpt(item.key()) + "' in '" +
                                     printableExcerpt(shard) + "', but that file has no such tensor");
        }
        checkpoint.m_entries.emplace(item.key(), Entry{&file, tensor});
    }
    // A tensor stored in two shards is ambiguous even if the index picks one of them.
    std::map<std::string, const SafetensorsFile*> holder;
    for (const auto& [resolvedPath, file] : shards) {
        for (const auto& tensor : file->tensors()) {
            const auto [it, inserted] = holder.emplace(tensor.name, file.get());
            if (!inserted) {
                failInput(indexText, "tensor '" + printableExcerpt(tensor.name) + "' is stored in both '" +
                                         it->second->path().filename().string() + "' and '" +
                                         file->path().filename().string() + "'");
            }
        }
        checkpoint.m_files.push_back(file);
    }
    return checkpoint;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
    std::vector<std::string> result;
    result.reserve(m_entries.size());
    for (const auto& entry : m_entries) result.push_back(entry.first);
    return result;  // std::map keeps them sorted
}

const SafetensorsCheckpoint::Entry* SafetensorsCheckpoint::find(const std::string& name) const {
    const auto it = m_entries.find(name);
    return it == m_entries.end() ? nullptr : &it->second;
}

std::string SafetensorsCheckpoint::fileNameOf(const std::string& name) const {
    const Entry* entry = find(name);
    if (entry == nullptr) return {};
    return entry->file->path().lexically_relative(m_dir).string();
}

}  // namespace dha::io
