# The mount gate against the real kernel: every image of the hostile set (HostileImages in TreeTools, laid into the
# NVDIMM by Invoke-Integration.ps1: structural breaks, the untouched images, seeded mutants) goes through Mount-DaxFs,
# with its gate, at its physical range. The kernel must never crash (a crash ends this boot, and the host reports the
# boot as failed with the console's last lines); every refusal names its error id, and a gate refusal its rule ids;
# every image the gate lets through is listed and read in full (TreeListing reads every file), then unmounted. Images
# made from the kernel-made large branching image (Source 'kernel': branches and delta logs the real kernel wrote) are
# then mounted again at each of their live branches (feature, and deep, its child), which makes the kernel replay those
# logs, and each branch is read in full too.
# Boot: hostile (raw NVDIMM, a boot of its own).

BeforeDiscovery {
    $script:Hostile = Get-Content -Raw (Join-Path $env:DAXFS_INTEGRATION_DATA 'hostile.json') | ConvertFrom-Json
    $script:Cases = @($script:Hostile.Cases | ForEach-Object {
            @{ Name = $_.Name; Kind = $_.Kind; Source = $_.Source; Expect = $_.Expect; Offset = [uint64]$_.Offset; Length = [uint64]$_.Length; Backing = $_.Backing }
        })
}

BeforeAll {
    . $PSScriptRoot/Guest.Common.ps1
    $script:Mnt = New-MountPoint 'hostile'
    $script:HostileSource = (Get-Content -Raw (Join-Path $script:Data 'hostile.json') | ConvertFrom-Json).Source
    # Refusals made before the mount call: the superblock checks and the gate.
    $script:DaxFsRefusals = 'ImageFailsValidation', 'ImageLargerThanMountSize', 'NoDaxFsImageAtTarget', 'UnsupportedImageVersion', 'MountSizeTooSmall'
    $script:Counts = [ordered]@{ Images = 0; RefusedByDaxFs = 0; MountedAndRead = 0; RefusedByKernel = 0; ReadErrors = 0; Structural = 0; Mutants = 0; MutantsRefused = 0; MutantsMounted = 0
        Small = [ordered]@{ Images = 0; RefusedByDaxFs = 0; MountedAndRead = 0; RefusedByKernel = 0; ReadErrors = 0 }
        Large = [ordered]@{ Images = 0; RefusedByDaxFs = 0; MountedAndRead = 0; RefusedByKernel = 0; ReadErrors = 0 }
        Kernel = [ordered]@{ Images = 0; RefusedByDaxFs = 0; MountedAndRead = 0; RefusedByKernel = 0; ReadErrors = 0; BranchesRead = 0; BranchesRefusedByKernel = 0; BranchReadErrors = 0 } }
    # Counts per source (small, large: thousands of directories, kernel: the large tree with kernel-made branches).
    function Add-Count([string] $Source, [string] $What) {
        $script:Counts[$What]++
        $script:Counts[$(switch ($Source) { 'large' { 'Large' } 'kernel' { 'Kernel' } default { 'Small' } })][$What]++
    }
    $script:Outcomes = [Collections.Generic.List[object]]::new()
}

AfterAll {
    Clear-Mount $script:Mnt
    $out = Join-Path $script:Data 'results'
    New-Item -ItemType Directory -Force $out | Out-Null
    [pscustomobject]$script:Counts | ConvertTo-Json -Depth 3 | Set-Content (Join-Path $out 'hostile-counts.json')
    $script:Outcomes | ConvertTo-Json -Depth 3 | Set-Content (Join-Path $out 'hostile-outcomes.json')
    Write-Host ("Hostile: {0} images: {1} refused by DaxFs, {2} mounted and read in full, {3} refused by the kernel itself, {4} read errors; mutants: {5} refused, {6} mounted" -f
        $script:Counts.Images, $script:Counts.RefusedByDaxFs, $script:Counts.MountedAndRead, $script:Counts.RefusedByKernel, $script:Counts.ReadErrors,
        $script:Counts.MutantsRefused, $script:Counts.MutantsMounted)
    foreach ($source in 'Small', 'Large', 'Kernel') {
        $c = $script:Counts[$source]
        Write-Host ("Hostile, {0} source: {1} images, {2} refused by DaxFs, {3} mounted and read in full, {4} refused by the kernel, {5} read errors" -f
            $source.ToLowerInvariant(), $c.Images, $c.RefusedByDaxFs, $c.MountedAndRead, $c.RefusedByKernel, $c.ReadErrors)
    }
    $k = $script:Counts.Kernel
    Write-Host ("Hostile, kernel source: live branches of the images mounted: {0} read in full, {1} refused by the kernel, {2} read errors" -f $k.BranchesRead, $k.BranchesRefusedByKernel, $k.BranchReadErrors)
}

Describe 'Mount-DaxFs and its gate on hostile images in the real kernel' {
    AfterEach { Clear-Mount $script:Mnt }

    It '<Kind> <Name>' -ForEach $Cases {
        $clock = [Diagnostics.Stopwatch]::StartNew() # each outcome keeps its time: what a source adds to the boot
        Add-Count $Source 'Images'
        if ($Kind -eq 'structural') { $script:Counts.Structural++ }
        if ($Kind -eq 'mutant') { $script:Counts.Mutants++ }
        $p = @{ PhysicalAddress = $script:Phys + $Offset; Size = $Length; MountPoint = $script:Mnt; Confirm = $false; ErrorAction = 'Stop' }
        if ($Backing) { $p.BackingFile = $Backing }
        $err = $null
        try { Mount-DaxFs @p -WarningAction SilentlyContinue | Out-Null }
        catch { $err = $_ }

        if ($err) {
            $id = ($err.FullyQualifiedErrorId -split ',')[0]
            $err.Exception.Message | Should -Not -BeNullOrEmpty
            $rules = @()
            # Every refusal by DaxFs names the rule: the superblock checks one, the gate all it found.
            if ($id -in $script:DaxFsRefusals) { $err.Exception.Message | Should -Match '\b(SB|IMG|BASE|INODE|DIR|DIRENT|SYMLINK|NLINK|TREE|BRANCH|DELTA|PC)-[A-Z0-9-]+' }
            if ($id -eq 'ImageFailsValidation') {
                $findings = @($err.Exception.Data['Findings'])
                $findings.Count | Should -BeGreaterThan 0
                $rules = @($findings | Where-Object Severity -eq 'Error' | ForEach-Object RuleId | Select-Object -Unique)
                $rules.Count | Should -BeGreaterThan 0
                foreach ($r in $rules) { $err.Exception.Message | Should -Match ([regex]::Escape($r)) }
                $err.Exception.Message | Should -Match ' at 0x[0-9a-f]+: '
            }
            $byDaxFs = $id -in $script:DaxFsRefusals
            if ($byDaxFs) { Add-Count $Source 'RefusedByDaxFs' } else { Add-Count $Source 'RefusedByKernel' }
            if ($Kind -eq 'mutant') { $script:Counts.MutantsRefused++ }
            $script:Outcomes.Add([pscustomobject]@{ Name = $Name; Kind = $Kind; Source = $Source; Outcome = $(if ($byDaxFs) { 'refused' } else { 'kernel-refused' }); ErrorId = $id; Rules = $rules -join ' '; Seconds = $clock.Elapsed.TotalSeconds })
            $Kind | Should -Not -Be 'valid' -Because "an untouched image must mount ($id`: $($err.Exception.Message))"
            if ($Kind -eq 'structural') {
                if ($Expect -match '^[A-Z]+(-[A-Z0-9]+)+$') {
                    $id | Should -Be 'ImageFailsValidation' -Because $err.Exception.Message
                    $rules | Should -Contain $Expect
                }
                else { $id | Should -Be $Expect -Because $err.Exception.Message }
            }
            return
        }

        # Mounted: list the whole tree and read every file (TreeListing hashes all content), then unmount.
        if ($Kind -eq 'mutant') { $script:Counts.MutantsMounted++ }
        $listing = $null; $readError = $null
        # Kernel-made branches: names the kernel's readdir lists but its lookup does not find are its own (about_DaxFs), counted.
        try { if ($Source -eq 'kernel') { $listing = [DaxFs.TreeTools.TreeListing]::ReadAll($script:Mnt) } else { $listing = [DaxFs.TreeTools.TreeListing]::List($script:Mnt) } }
        catch { $readError = $_.Exception.GetBaseException().Message }
        if ($readError) { Add-Count $Source 'ReadErrors' } else { Add-Count $Source 'MountedAndRead' }
        $outcome = [pscustomobject]@{ Name = $Name; Kind = $Kind; Source = $Source; Outcome = $(if ($readError) { "mounted, read error: $readError" } else { 'mounted and read' }); ErrorId = $null; Rules = ''; Seconds = $clock.Elapsed.TotalSeconds }
        $script:Outcomes.Add($outcome)
        $Kind | Should -Not -Be 'structural' -Because "the gate must refuse $Name ($Expect)"
        if ($Kind -eq 'valid') {
            $readError | Should -BeNullOrEmpty
            (Get-Content -Raw (Join-Path $script:Mnt 'a.txt')) | Should -Be "alpha`n"
            (Get-Content -Raw (Join-Path $script:Mnt 'link')) | Should -Be (Get-Content -Raw (Join-Path $script:HostileSource 'sub/b.txt'))
            if ($Name -like '*live-main*') { Get-Content -Raw (Join-Path $script:Mnt 'newdir/f') | Should -Be "written in a branch`n" }
            if ($Source -eq 'kernel') { Get-Content -Raw (Join-Path $script:Mnt 'early-dir/x.txt') | Should -Be "x`n" } # committed into main by the kernel
        }
        if ($Source -ne 'kernel') { return }

        # The gate let these bytes through (branch table and every log included): mount each live branch the kernel
        # made, so that the kernel replays its log and its parent's, and read it in full.
        Clear-Mount $script:Mnt
        $branchErrors = [Collections.Generic.List[string]]::new()
        foreach ($branch in 'feature', 'deep') {
            $opts = 'phys=0x{0:x},size={1},branch={2}' -f ($script:Phys + $Offset), $Length, $branch
            $out = & mount -t daxfs -o $opts none $script:Mnt 2>&1
            if ($LASTEXITCODE -ne 0) { $script:Counts.Kernel.BranchesRefusedByKernel++; $branchErrors.Add("$branch`: mount refused: $out"); continue }
            try {
                $branchError = $null
                $read = $null
                try { $read = [DaxFs.TreeTools.TreeListing]::ReadAll($script:Mnt) }
                catch { $branchError = $_.Exception.GetBaseException().Message }
                if ($branchError) { $script:Counts.Kernel.BranchReadErrors++; $branchErrors.Add("$branch`: $branchError") } else { $script:Counts.Kernel.BranchesRead++ }
                if ($Kind -eq 'valid') {
                    $read.Files | Should -BeGreaterThan 5000
                    Get-Content -Raw (Join-Path $script:Mnt 'early-dir/x.txt') | Should -Be "x`n" # main's, committed before the branch was made
                }
            }
            finally { Clear-Mount $script:Mnt }
        }
        $outcome.Outcome += "; branches: $(if ($branchErrors.Count) { $branchErrors -join '; ' } else { 'feature and deep read' })"
        $outcome.Seconds = $clock.Elapsed.TotalSeconds
        if ($Kind -eq 'valid') { $branchErrors | Should -BeNullOrEmpty }
    }
}
