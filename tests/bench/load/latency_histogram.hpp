// A log-linear latency histogram in nanoseconds (the HdrHistogram layout):
// exact below 128 ns, then 64 buckets per power of two, so any percentile is
// within 1.6% of the true value. Recording is an increment, cheap enough for
// the client's hot path; histograms of several connections merge by adding.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace backtalk::bench {

class LatencyHistogram {
public:
    void record(std::uint64_t nanos) {
        if (counts_.empty()) counts_.assign(bucket_count, 0);
        ++counts_[index_of(std::min(nanos, max_nanos))];
        ++total_;
        max_ = std::max(max_, nanos);
    }

    void merge(const LatencyHistogram& other) {
        if (other.total_ == 0) return;
        if (counts_.empty()) counts_.assign(bucket_count, 0);
        for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
        total_ += other.total_;
        max_ = std::max(max_, other.max_);
    }

    std::uint64_t count() const { return total_; }
    std::uint64_t max() const { return max_; }

    // The value below which a fraction `p` (0..1) of the recordings fall:
    // the middle of the bucket holding that rank; 0 when empty.
    std::uint64_t percentile(double p) const {
        if (total_ == 0) return 0;
        const auto rank = std::max<std::uint64_t>(
            1, static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(total_))));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < bucket_count; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(middle_of(i), max_);
        }
        return max_;
    }

private:
    static constexpr unsigned sub_bits = 6;
    static constexpr std::uint64_t sub_count = 1u << sub_bits;  // buckets per power of two
    static constexpr std::uint64_t max_nanos = (std::uint64_t{1} << 40) - 1;  // about 18 minutes
    static constexpr std::size_t bucket_count = (40 - sub_bits + 1) * sub_count;

    static std::size_t index_of(std::uint64_t nanos) {
        if (nanos < 2 * sub_count) return static_cast<std::size_t>(nanos);
        const unsigned shift = static_cast<unsigned>(std::bit_width(nanos)) - 1 - sub_bits;
        return static_cast<std::size_t>((shift + 1) * sub_count + ((nanos >> shift) - sub_count));
    }

    static std::uint64_t middle_of(std::size_t index) {
        if (index < 2 * sub_count) return index;
        const std::uint64_t shift = index / sub_count - 1;
        const std::uint64_t lowest = (index % sub_count + sub_count) << shift;
        return lowest + ((std::uint64_t{1} << shift) >> 1);
    }

    std::vector<std::uint64_t> counts_;  // allocated on the first record
    std::uint64_t total_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace backtalk::bench
