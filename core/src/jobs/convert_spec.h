// A conversion's spec as run.json records it, and the checks that let a resume continue a run only with the
// same source model, texts and settings.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "dha/conversion.h"

namespace dha::jobs {

// The spec with absolute paths, keyed by the `dha convert` option names with '_' for '-'. The operational
// settings (resume, checkpoint interval, kept checkpoints) are included but never compared.
nlohmann::json convertSpecToJson(const ConvertSpec& spec);
// Back from run.json's "spec" (errors name pathForErrors and the key).
ConvertSpec convertSpecFromJson(const nlohmann::json& json, const std::string& pathForErrors);

// What identifies the source model's weights without reading them: the model fingerprint (config and tensor
// headers) and each weight file's size and modification time.
nlohmann::json sourceModelIdentity(const std::filesystem::path& modelDir);

// Refuses (InvalidInput naming run.json) a resume whose spec differs from the recorded one in anything but the
// operational settings: the message names the setting and both values.
void checkSameConversion(const ConvertSpec& given, const nlohmann::json& recordedSpec,
                         const std::filesystem::path& runJson);

}  // namespace dha::jobs
